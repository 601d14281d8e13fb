import { dirname, join, normalize } from 'node:path';
import type { SourceFile } from './source-files.ts';

/**
 * What may import what, lowest layer first: a module imports only from its own
 * layer or lower ones. docs/architecture.md explains each layer.
 */
export const LAYERS: string[][] = [
  ['generated', 'config', 'logger', 'errors', 'error-codes', 'text', 'smtp-url'],
  ['db', 'crypto', 'instance', 'cluster'],
  ['state', 'events'],
  ['upstream-http', 'inspect', 'rules', 'keys', 'proxy', 'logs', 'metrics', 'ratelimit', 'scripts'],
  ['admin', 'auth', 'jobs', 'notifications', 'config-file', 'sync'],
  ['graphql'],
  ['server', 'server-drain', 'ws-upgrade', 'app', 'h3-node-route', 'dashboard'],
  ['gateway', 'startup-errors'],
  ['main', 'cli'],
];

/**
 * Imports that go up a layer today, each with why; new ones fail the check.
 */
export const KNOWN_UPWARD: Record<string, string> = {
  'config -> db': 'config parses DATABASE_URL with db/database-url.ts (a pure parser)',
};

/**
 * Upward edges allowed for `import type` only: state/ holds what the layers
 * above build (compiled rules, header scripts, the rate limits), which the
 * gateway's wiring passes in (state/gateway-state.ts StateParts), so state/
 * names their types but runs none of their code. A value import along one of
 * these edges fails the check.
 */
export const TYPE_ONLY_UPWARD: Record<string, string> = {
  'state -> rules': 'an upstream in memory holds its compiled rules (the compiler is passed in)',
  'state -> scripts': "an upstream in memory holds its compiled header script (the builder and the engine are passed in)",
  'state -> ratelimit': 'the state holds the rate limits, which the key pools ask as their gate (built by the wiring)',
};

/** The top-level unit a path in src/ belongs to: its folder, or the file's name for top-level files. */
export function unitOf(path: string): string {
  const inSrc = path.replace(/^src\//, '');
  const slash = inSrc.indexOf('/');
  return slash >= 0 ? inSrc.slice(0, slash) : inSrc.replace(/\.ts$/, '');
}

const rank = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s(type\s)?[^;]*?from\s+'(\.{1,2}\/[^']+)'/g;

export interface Violation {
  file: string;
  imports: string;
  edge: string;
}

/** Imports from a higher layer (or of a unit no layer lists), except the known ones. */
export function layerViolations(files: SourceFile[], known: Record<string, string> = KNOWN_UPWARD, typeOnly: Record<string, string> = TYPE_ONLY_UPWARD): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const from = unitOf(file.path);
    for (const match of file.text.matchAll(IMPORT)) {
      const target = normalize(join(dirname(file.path), match[2]!)).split('\\').join('/');
      if (!target.startsWith('src/')) continue;
      const to = unitOf(target);
      if (to === from) continue;
      const edge = `${from} -> ${to}`;
      const [a, b] = [rank.get(from), rank.get(to)];
      if (a === undefined || b === undefined || (b > a && !(edge in known) && !(match[1] !== undefined && edge in typeOnly))) out.push({ file: file.path, imports: target, edge });
    }
  }
  return out;
}
