// Test-only job (registered only with KEYRELAY_TEST_JOBS=1): spins forever holding a database
// client, until KEYRELAY_JOB_TIMEOUT_MS makes Bree terminate the thread.
import { runJobWorker } from '../../../dist/jobs/worker-runtime.js';

await runJobWorker(async ({ db, post }) => {
  await db.sql.query('SELECT 1');
  post({ type: 'progress', counts: { spinning: true } });
  for (;;) {
    // A busy loop: no message, no timer, no await can end it; only terminate() does.
  }
});
