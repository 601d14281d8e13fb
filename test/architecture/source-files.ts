// Reads src/ for the architecture checks: every TypeScript file but the generated ones.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface SourceFile {
  /** Relative to the project, with forward slashes: `src/keys/lifecycle.ts`. */
  path: string;
  text: string;
}

export const ROOT = join(import.meta.dirname, '..', '..');

export function sourceFiles(dir = join(ROOT, 'src')): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'generated') out.push(...sourceFiles(full));
    } else if (entry.name.endsWith('.ts')) {
      out.push({ path: relative(ROOT, full).split('\\').join('/'), text: readFileSync(full, 'utf8') });
    }
  }
  return out;
}
