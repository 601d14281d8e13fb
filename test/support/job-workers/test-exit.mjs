// Test-only job (registered only with KEYRELAY_TEST_JOBS=1): the thread exits mid-run without reporting.
import { runJobWorker } from '../../../dist/jobs/worker-runtime.js';

await runJobWorker(async () => {
  process.exit(3);
});
