import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of compiled job files Bree runs. Worker threads on Node 20 run
 * JavaScript only, so this is always the built `dist/jobs/workers`: next to
 * this file when running from dist, and the project's dist folder when this
 * module is loaded from src (vitest), so tests run the very files production runs.
 */
export function workerRoot(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  if (basename(dirname(here)) === 'src') return join(resolve(here, '..', '..'), 'dist', 'jobs', 'workers');
  return join(here, 'workers');
}

/**
 * The test-only jobs (KEYRELAY_TEST_JOBS) live with the tests, not in src/:
 * `test/support/job-workers/<name>.mjs` of the checkout this module runs
 * from, which is two folders up from both src/jobs and dist/jobs.
 */
export function testJobFile(name: string, moduleUrl: string = import.meta.url): string {
  return join(resolve(dirname(fileURLToPath(moduleUrl)), '..', '..'), 'test', 'support', 'job-workers', `${name}.mjs`);
}
