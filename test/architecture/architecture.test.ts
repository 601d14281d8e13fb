// The layering of src/ (docs/architecture.md) and the size limits, checked
// over the real tree, and each check shown to fail on a synthetic file list.
import { describe, expect, it } from 'vitest';
import { KNOWN_UPWARD, layerViolations, TYPE_ONLY_UPWARD, unitOf } from './layers.ts';
import { LONG_MARKER, MAX_FILE_LINES, MAX_FUNCTION_LINES, oversized } from './size-limits.ts';
import { sourceFiles } from './source-files.ts';

const files = sourceFiles();

describe('layers', () => {
  it('src/ imports only from its own layer or lower ones (or a listed exception)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(layerViolations(files)).toEqual([]);
  });

  it('every listed exception is still needed', () => {
    const edges = new Set(layerViolations(files, {}, {}).map((v) => v.edge));
    expect([...Object.keys(KNOWN_UPWARD), ...Object.keys(TYPE_ONLY_UPWARD)].filter((edge) => !edges.has(edge))).toEqual([]);
  });

  it('allows a type-only edge for `import type` and fails a value import along it', () => {
    const synthetic = [
      { path: 'src/state/typed.ts', text: "import type { CompiledRule } from '../rules/evaluate.ts';\nexport type { UpstreamScript } from '../scripts/header-script.ts';\n" },
      { path: 'src/state/value.ts', text: "import { compileRule } from '../rules/evaluate.ts';\nimport { type RateLimits } from '../ratelimit/rate-limits.ts';\n" },
    ];
    expect(layerViolations(synthetic).map((v) => `${v.file}: ${v.edge}`)).toEqual(['src/state/value.ts: state -> rules', 'src/state/value.ts: state -> ratelimit']);
  });

  it('fails when a lower layer imports a higher one', () => {
    const synthetic = [
      { path: 'src/state/cache.ts', text: "import { builder } from '../graphql/builder.ts';\nexport const x = builder;\n" },
      { path: 'src/keys/ok.ts', text: "import type { ApiKeyState } from '../state/types.ts';\nimport { y } from './lifecycle.ts';\n" },
      { path: 'src/proxy/multi.ts', text: "import {\n  a,\n  b,\n} from '../admin/services.ts';\nexport { c } from '../gateway.ts';\n" },
      { path: 'src/newthing/x.ts', text: "import { z } from '../logger.ts';\n" },
    ];
    expect(layerViolations(synthetic).map((v) => `${v.file}: ${v.edge}`)).toEqual([
      'src/state/cache.ts: state -> graphql',
      'src/proxy/multi.ts: proxy -> admin',
      'src/proxy/multi.ts: proxy -> gateway',
      // A folder no layer lists must be placed before it can import anything.
      'src/newthing/x.ts: newthing -> logger',
    ]);
  });

  it('names top-level files and folders as units', () => {
    expect([unitOf('src/gateway.ts'), unitOf('src/keys/lifecycle.ts'), unitOf('src/graphql/types/jobs.ts')]).toEqual(['gateway', 'keys', 'graphql']);
  });
});

describe('size limits', () => {
  it(`no file over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES} unless a comment says why`, () => {
    expect(oversized(files)).toEqual([]);
  });

  it('fails on a long file and a long function, and accepts one whose comment says why', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const synthetic = [
      { path: 'src/long-file.ts', text: Array.from({ length: MAX_FILE_LINES + 1 }, (_, i) => `export const c${i} = ${i};`).join('\n') },
      { path: 'src/long-fn.ts', text: `export function long() {\n${body(MAX_FUNCTION_LINES)}\n}\n` },
      { path: 'src/long-arrow.ts', text: `export const arrow = () => {\n${body(MAX_FUNCTION_LINES)}\n};\n` },
      { path: 'src/explained.ts', text: `// ${LONG_MARKER} it is a table.\nexport function table() {\n${body(MAX_FUNCTION_LINES)}\n}\n` },
    ];
    expect(oversized(synthetic).map((o) => `${o.path}: ${o.what}`)).toEqual(['src/long-file.ts: file', 'src/long-fn.ts: long', 'src/long-arrow.ts: function at line 1']);
  });
});
