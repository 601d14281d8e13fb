// Test-only job (registered only with KEYRELAY_TEST_JOBS=1): fails after opening its database client.
import { runJobWorker } from '../../../dist/jobs/worker-runtime.js';

await runJobWorker(async ({ db }) => {
  await db.sql.query('SELECT 1');
  throw new Error('test-throw: failing on purpose');
});
