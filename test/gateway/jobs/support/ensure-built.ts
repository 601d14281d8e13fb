import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const LOCK = join(ROOT, 'dist', '.build-lock');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** Sources whose compiled file is missing or older than the source. */
function stale(): string[] {
  return sources(join(ROOT, 'src')).filter((file) => {
    const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), file).replace(/\.ts$/, '.js'));
    try {
      return statSync(out).mtimeMs < statSync(file).mtimeMs;
    } catch {
      return true;
    }
  });
}

/**
 * Bree runs the compiled job files (worker threads run JavaScript), so the
 * suites need dist/ to match src/. `npm test` builds first (pretest); a
 * direct `npx vitest run test/jobs` builds here when dist is stale. A lock
 * directory keeps two test files from running tsc into dist at once. tsc
 * still emits when another part of the tree has type errors; only a missing
 * job file fails the suite.
 */
export async function ensureBuilt(): Promise<void> {
  if (stale().length === 0) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (waited > 60_000) rmdirSync(LOCK); // a crashed holder
      await sleep(100);
    }
  }
  try {
    if (stale().length > 0) {
      try {
        execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'pipe' });
      } catch {
        // type errors elsewhere in the tree; the files were emitted all the same
      }
    }
  } finally {
    rmdirSync(LOCK);
  }
  const missing = readdirSync(join(ROOT, 'src', 'jobs', 'workers'))
    .map((f) => join(ROOT, 'dist', 'jobs', 'workers', f.replace(/\.ts$/, '.js')))
    .filter((f) => {
      try {
        return !statSync(f).isFile();
      } catch {
        return true;
      }
    });
  if (missing.length > 0) throw new Error(`job files not built: ${missing.join(', ')}`);
}
