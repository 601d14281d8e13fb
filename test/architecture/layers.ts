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
  ['rules', 'keys', 'proxy', 'logs', 'metrics', 'ratelimit', 'scripts'],
  ['admin', 'auth', 'jobs', 'notifications', 'config-file', 'sync'],
  ['graphql'],
  ['server', 'server-drain', 'ws-upgrade', 'app', 'h3-node-route', 'dashboard'],
  ['gateway', 'startup-errors'],
  ['main', 'cli'],
];

/**
 * Imports that go up a layer today, each with why; new ones fail the check.
 * (Moving KeyPool and the rule compiler out of what state/ imports is the way
 * to shorten this list: state/ should hold memory only.)
 */
export const KNOWN_UPWARD: Record<string, string> = {
  'config -> db': 'config parses DATABASE_URL with db/database-url.ts (a pure parser)',
  'state -> proxy': 'an upstream in memory owns its KeyPool',
  'state -> rules': 'rules are compiled when loaded into memory',
  'state -> ratelimit': "an upstream's key pool asks the rate-limit gate whether a key has room",
  'state -> scripts': "an upstream in memory owns its compiled header-script sandbox",
};

/** The top-level unit a path in src/ belongs to: its folder, or the file's name for top-level files. */
export function unitOf(path: string): string {
  const inSrc = path.replace(/^src\//, '');
  const slash = inSrc.indexOf('/');
  return slash >= 0 ? inSrc.slice(0, slash) : inSrc.replace(/\.ts$/, '');
}

const rank = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/g;

export interface Violation {
  file: string;
  imports: string;
  edge: string;
}

/** Imports from a higher layer (or of a unit no layer lists), except the known ones. */
export function layerViolations(files: SourceFile[], known: Record<string, string> = KNOWN_UPWARD): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const from = unitOf(file.path);
    for (const match of file.text.matchAll(IMPORT)) {
      const target = normalize(join(dirname(file.path), match[1]!)).split('\\').join('/');
      if (!target.startsWith('src/')) continue;
      const to = unitOf(target);
      if (to === from) continue;
      const edge = `${from} -> ${to}`;
      const [a, b] = [rank.get(from), rank.get(to)];
      if (a === undefined || b === undefined || (b > a && !(edge in known))) out.push({ file: file.path, imports: target, edge });
    }
  }
  return out;
}
