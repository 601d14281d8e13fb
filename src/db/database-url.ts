import { isAbsolute, resolve } from 'node:path';

export type DatabaseTarget =
  | { provider: 'sqlite'; file: string; url: string }
  | { provider: 'postgres'; url: string };

export class DatabaseUrlError extends Error {}

/** Reads DATABASE_URL: `file:path` (SQLite, relative to cwd) or `postgres(ql)://…`. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).split('?')[0];
    if (!path) throw new DatabaseUrlError('a file: URL needs a path, e.g. file:./data/keyrelay.db');
    const file = path === ':memory:' ? path : isAbsolute(path) ? path : resolve(path);
    return { provider: 'sqlite', file, url: `file:${file}` };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new DatabaseUrlError('not a valid PostgreSQL URL');
    }
    return { provider: 'postgres', url };
  }
  // Only a plain `scheme://` is repeated: anything else may be a password typed without its scheme.
  const scheme = /^([a-z][a-z0-9+.-]{0,19}):\/\//i.exec(url)?.[1];
  const what = scheme === undefined ? 'unsupported database URL' : `unsupported database "${scheme}"`;
  throw new DatabaseUrlError(`${what}: use file:<path> (SQLite) or postgresql://…`);
}
