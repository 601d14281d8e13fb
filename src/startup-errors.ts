// The usual reasons a first start fails, each told as one line naming the
// cause and the fix, the way a bad setting already is. Anything else is
// unexpected and keeps its stack in the log.

import type { Config } from './config.ts';

const UNREACHABLE = /can't reach database server|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|timed out|connection terminated/i;
const REFUSED = /authentication failed|password authentication|does not exist|permission denied|no pg_hba\.conf entry/i;
const LOCKED = /database is locked|SQLITE_BUSY/i;
const SQLITE_OPEN = /SQLITE_CANTOPEN|unable to open database file|\bEACCES\b|\bEROFS\b|\bENOSPC\b/;
// The better-sqlite3 adapter reports a busy (locked) file to the schema engine as a socket timeout.
const SQLITE_LOCKED = /database is locked|SQLITE_BUSY|SocketTimeout/i;

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((l) => l.trim().length > 0)?.trim().replace(/`/g, '') ?? 'unknown error';
}

function where(config: Config): string {
  const db = config.database;
  if (db.provider === 'sqlite') return `the SQLite file ${db.url.replace(/^file:/, '')}`;
  try {
    const u = new URL(db.url);
    return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

function listenProblem(error: { code?: unknown }, config: Config): string | null {
  const at = `${config.HOST}:${config.PORT}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `port ${config.PORT} on ${config.HOST} is already in use (often another keyrelay); stop that process or set PORT to a free port`;
    case 'EACCES':
      return `not allowed to listen on ${at}; set PORT to 1024 or above, or grant the permission`;
    case 'EADDRNOTAVAIL':
      return `HOST ${config.HOST} is not an address of this machine; set HOST to 127.0.0.1, 0.0.0.0 or one of its addresses`;
    default:
      return null;
  }
}

/** One line (cause and fix) for a known start-up failure, or null when it is unexpected. */
export function explainStartupError(error: unknown, config: Config): string | null {
  const listen = (error as { syscall?: unknown })?.syscall === 'listen' ? listenProblem(error as { code?: unknown }, config) : null;
  if (listen) return listen;
  const text = error instanceof Error ? `${(error as { code?: unknown }).code ?? ''} ${error.message}` : String(error);
  const line = firstLine(error);
  if (LOCKED.test(text) || (config.database.provider === 'sqlite' && SQLITE_LOCKED.test(text))) return `${where(config)} is locked by another process (often another keyrelay on the same KEYRELAY_DATA_DIR); stop it or use another data directory`;
  if (config.database.provider === 'postgres') {
    if (UNREACHABLE.test(text)) return `cannot reach ${where(config)} (${line}); start the database or fix DATABASE_URL`;
    if (REFUSED.test(text)) return `${where(config)} refused the connection (${line}); fix the user, password or database name in DATABASE_URL`;
  } else if (SQLITE_OPEN.test(text)) {
    return `cannot open ${where(config)} (${line}); make KEYRELAY_DATA_DIR a writable directory or fix DATABASE_URL`;
  }
  if (/migrat/i.test(text)) return `the database schema could not be brought up to date (${line}); point DATABASE_URL at keyrelay's own database, or restore it from a backup if it was changed by hand`;
  return null;
}
