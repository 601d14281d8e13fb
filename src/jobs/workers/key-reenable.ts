// Bree job file (runs in a worker thread from dist/jobs/workers/key-reenable.js).
import { reenableKeys } from '../tasks/key-reenable.ts';
import { runJobWorker } from '../worker-runtime.ts';

await runJobWorker(reenableKeys);
