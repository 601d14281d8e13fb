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
