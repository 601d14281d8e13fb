// Bree job file (runs in a worker thread from dist/jobs/workers/quota-reset.js).
import { resetDueQuotas } from '../tasks/quota-reset.ts';
import { runJobWorker } from '../worker-runtime.ts';

await runJobWorker(resetDueQuotas);
