// Bree job file (runs in a worker thread from dist/jobs/workers/log-cleanup.js).
import { cleanupOldRows } from '../tasks/log-cleanup.ts';
import { runJobWorker } from '../worker-runtime.ts';

await runJobWorker(cleanupOldRows);
