// Test-only job (registered only with KEYRELAY_TEST_JOBS=1): the thread exits mid-run without reporting.
import { runJobWorker } from '../worker-runtime.ts';

await runJobWorker(async () => {
  process.exit(3);
});
