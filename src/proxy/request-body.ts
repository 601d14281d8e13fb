// Reads the client's request body so it can be resent on a retry: buffered up
// to the upstream's cap, streamed (and not retried) beyond it. A declared
// length over the gateway's limit is refused before anything is read or sent
// upstream; an undeclared (chunked) body is counted as it streams.

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ProxyAbort } from './proxy-errors.ts';

export type RequestBody =
  | { kind: 'none' }
  | { kind: 'buffered'; data: Buffer }
  /** `length`: the declared length, or null for chunked. `prefix`: what was read before switching to streaming. */
  | { kind: 'stream'; source: Readable; length: number | null; prefix: Buffer | null };

const NONE: RequestBody = { kind: 'none' };
const EMPTY: RequestBody = { kind: 'buffered', data: Buffer.alloc(0) };

export type BodyResult = RequestBody | 'too_large';

/** The declared length: a number, null when absent, NaN when malformed. */
function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  if (raw === undefined) return null;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
}

/** `counted` receives the bytes read (for the log) as they arrive. */
export function readRequestBody(req: IncomingMessage, maxBuffered: number, maxTotal: number, counted: { bytesIn: number }): Promise<BodyResult> | BodyResult {
  const length = declaredLength(req);
  if (length === null && req.headers['transfer-encoding'] === undefined) return NONE;
  if (length === 0) return EMPTY;
  if (length !== null && (Number.isNaN(length) || length > maxTotal)) return 'too_large';
  if (length !== null && length > maxBuffered) {
    counted.bytesIn = length;
    return { kind: 'stream', source: req, length, prefix: null };
  }
  return new Promise<BodyResult>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyResult | Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      counted.bytesIn = size;
      chunks.push(chunk);
      if (size > maxTotal) return done('too_large');
      if (size > maxBuffered) {
        // Chunked and bigger than the cap: stream the rest after what was read.
        req.pause();
        const prefix = Buffer.concat(chunks, size);
        return done({ kind: 'stream', source: Readable.from(streamRest(prefix, req, maxTotal, counted), { objectMode: false }), length: null, prefix });
      }
    };
    const onEnd = () => done({ kind: 'buffered', data: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
    const onError = (error: Error) => done(error);
    const onClose = () => done(new ProxyAbort('client_closed', 'client closed the connection while sending the body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

async function* streamRest(prefix: Buffer, req: IncomingMessage, maxTotal: number, counted: { bytesIn: number }): AsyncGenerator<Buffer> {
  yield prefix;
  let size = prefix.length;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    counted.bytesIn = size;
    if (size > maxTotal) throw new ProxyAbort('request_body', 'request body over the limit');
    yield chunk;
  }
}
