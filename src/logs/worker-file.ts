import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The log writer's worker script. Worker threads on Node 20 run JavaScript
 * only, so this is always the built `dist/logs/log-worker.js`: next to this
 * file when running from dist, and the project's dist folder when this module
 * is loaded from src (vitest), so tests run the very file production runs.
 */
export function logWorkerFile(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  if (basename(dirname(here)) === 'src') return join(resolve(here, '..', '..'), 'dist', 'logs', 'log-worker.js');
  return join(here, 'log-worker.js');
}
