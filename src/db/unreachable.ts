// Whether an error means "the database cannot be reached right now" rather
// than "this query is wrong": admin calls then answer SERVICE_UNAVAILABLE (try
// again) instead of an internal error. The errors come from three layers:
// node-postgres (socket codes, "Connection terminated"), pg-pool (connection
// timeout), and Prisma over its driver adapter (P1001-style codes, or the
// driver's error kept as `cause`); all are walked through their causes.

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Prisma: can't reach, timed out, closed connection, connection pool timeout. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const MESSAGES = /connection terminated|terminating connection|timeout exceeded when trying to connect|can't reach database server|server has closed the connection|connection (?:is )?closed|client has encountered a connection error/i;

export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 6; depth++) {
    const { code, message, cause, originalCode, kind } = e as { code?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown; kind?: unknown };
    for (const c of [code, originalCode]) {
      if (typeof c !== 'string') continue;
      if (SOCKET_CODES.has(c) || PRISMA_CODES.has(c)) return true;
      // SQLSTATE class 08 (connection exception); 57P01-03: the server is shutting down or not accepting.
      if (/^08[0-9A-Z]{3}$/.test(c) || /^57P0[1-3]$/.test(c)) return true;
    }
    if (kind === 'DatabaseNotReachable' || kind === 'SocketTimeout' || kind === 'ConnectionClosed') return true;
    if (typeof message === 'string' && MESSAGES.test(message)) return true;
    e = cause;
  }
  return false;
}
