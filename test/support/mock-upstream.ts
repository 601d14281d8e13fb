// An OpenAI-style upstream on a real loopback port that misbehaves on demand.
// The mode comes from the request's `x-mock` header, else from `byKey[key]`,
// else `chat` for POST /v1/chat/completions and `ok` for anything else:
//   ok | echo | status:<code>[:<body>] (`{key}` in the body becomes the key seen;
//   `x-mock-retry-after` sets Retry-After) | sse:<n>:<ms> | stall-headers |
//   stall-after:<n> | reset-after:<bytes> | close-after:<bytes> | garbage |
//   bad-json | huge:<bytes> | slow:<ms> | chat | usage:<total tokens>
// `headersByKey[key]` adds response headers for that key (rate-limit headers, say).
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface MockUpstreamOptions {
  /** Key value -> mode, for requests without an `x-mock` header. */
  byKey?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  /** Lower-case names, as received; a repeated header becomes an array. */
  headers: Record<string, string | string[]>;
  /** From `authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`. */
  key: string | null;
  /** Filled in once the whole body has arrived. */
  body: string;
}

const USAGE = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 };
const BLOCK = Buffer.alloc(64 * 1024, 'x');
const RESET_DELAY_MS = 20;
const NUMERIC_MODES = new Set(['status', 'sse', 'stall-after', 'reset-after', 'close-after', 'huge', 'slow', 'usage']);
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const mock = new MockUpstream(opts);
  await mock.listen();
  return mock;
}

/** Emits `request` (RecordedRequest, body complete) and `client-close`. */
export class MockUpstream extends EventEmitter {
  url = '';
  hits = 0;
  requests: RecordedRequest[] = [];
  /** The key of every request that carried one, in arrival order. */
  keysSeen: string[] = [];
  hitsByKey: Record<string, number> = {};
  /** In-flight requests the client closed before the response was finished. */
  closedSockets = 0;
  /** Mutable: a test may remap a key between requests. */
  byKey: Record<string, string>;
  /** Mutable: key value -> extra response headers. */
  headersByKey: Record<string, Record<string, string>> = {};
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #closing = false;

  constructor(opts: MockUpstreamOptions) {
    super();
    this.byKey = { ...opts.byKey };
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves on the next client-side close of an in-flight request; call it before causing the abort. */
  waitForClose(): Promise<void> {
    return once(this, 'client-close').then(() => undefined);
  }

  /** Resolves with the next request once its body has arrived. */
  waitForRequest(): Promise<RecordedRequest> {
    return once(this, 'request').then(([request]) => request as RecordedRequest);
  }

  reset(): void {
    this.hits = 0;
    this.requests = [];
    this.keysSeen = [];
    this.hitsByKey = {};
    this.closedSockets = 0;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const headers = headersOf(req.rawHeaders);
    const url = req.url ?? '/';
    const record: RecordedRequest = { method: req.method ?? 'GET', url, headers, key: keyOf(url, headers), body: '' };
    this.hits++;
    this.requests.push(record);
    if (record.key !== null) {
      this.keysSeen.push(record.key);
      this.hitsByKey[record.key] = (this.hitsByKey[record.key] ?? 0) + 1;
    }
    const exchange = { selfClosed: false };
    res.on('close', () => {
      if (res.writableFinished || exchange.selfClosed || this.#closing) return;
      this.closedSockets++;
      this.emit('client-close');
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      record.body = Buffer.concat(chunks).toString('utf8');
      this.emit('request', record);
      const isChat = record.method === 'POST' && url.split('?')[0] === '/v1/chat/completions';
      const extra = record.key === null ? undefined : this.headersByKey[record.key];
      if (extra !== undefined) for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
      const mode = first(headers['x-mock']) ?? (record.key === null ? undefined : this.byKey[record.key]);
      respond(mode ?? (isChat ? 'chat' : 'ok'), record, res, exchange);
    });
  }
}

function respond(mode: string, record: RecordedRequest, res: ServerResponse, exchange: { selfClosed: boolean }): void {
  const [name, arg = '', ...rest] = mode.split(':');
  const n = Number(arg);
  if (NUMERIC_MODES.has(name) && !(Number.isInteger(n) && n >= 0 && (name !== 'status' || (n >= 200 && n <= 599)))) {
    return json(res, 400, { error: { message: `bad mock mode "${mode}"` } });
  }
  const socket = res.socket;
  const selfClose = (how: (s: Socket) => void) => () => {
    exchange.selfClosed = true;
    if (socket) how(socket);
  };
  switch (name) {
    case 'ok':
      return json(res, 200, { ok: true, path: record.url.split('?')[0], usage: USAGE });
    case 'echo':
      return json(res, 200, { method: record.method, url: record.url, headers: record.headers, body: record.body });
    case 'status': {
      const body = rest.length > 0 ? rest.join(':').replaceAll('{key}', record.key ?? '') : JSON.stringify({ error: { message: `mock status ${n}`, type: 'mock_error', code: n } });
      const retryAfter = first(record.headers['x-mock-retry-after']);
      res.writeHead(n, {
        'content-type': body.startsWith('{') ? 'application/json' : 'text/plain',
        ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
      });
      return void res.end(body);
    }
    case 'sse': {
      const events = Array.from({ length: n }, (_, i) => chunk(i, { content: `tok${i} ` }, null));
      events.push(chunk(n, null, null, { usage: { prompt_tokens: 3, completion_tokens: n, total_tokens: n + 3 } }));
      return stream(res, events, Number(rest[0] ?? 0), true);
    }
    case 'stall-headers':
      return; // the request stays open until the client or close() ends it
    case 'stall-after':
      return stream(res, Array.from({ length: n }, (_, i) => chunk(i, { content: `tok${i} ` }, null)), 0, false);
    case 'reset-after':
      // An RST makes the peer's kernel drop what it has not read yet, so give it a moment to read the bytes.
      return partialBody(res, n, selfClose((s) => setTimeout(() => s.destroyed || s.resetAndDestroy(), RESET_DELAY_MS)));
    case 'close-after':
      return partialBody(res, n, selfClose((s) => s.end()));
    case 'garbage':
      return selfClose((s) => s.end('\u0000\u00ffNOT-HTTP garbage \r\n\r\n'))();
    case 'bad-json':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"ok": tru');
    case 'huge':
      return pump(res, n);
    case 'slow': {
      const timer = setTimeout(() => json(res, 200, { ok: true, path: record.url.split('?')[0], usage: USAGE }), n);
      return void res.on('close', () => clearTimeout(timer));
    }
    case 'chat':
      return chat(res, record.body);
    case 'usage':
      return json(res, 200, { ok: true, usage: { prompt_tokens: 0, completion_tokens: n, total_tokens: n } });
    default:
      return json(res, 400, { error: { message: `unknown mock mode "${mode}"` } });
  }
}

function chat(res: ServerResponse, bodyText: string): void {
  let body: { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } } = {};
  try {
    body = JSON.parse(bodyText) as typeof body;
  } catch {
    return json(res, 400, { error: { message: 'invalid JSON body', type: 'invalid_request_error' } });
  }
  const model = typeof body.model === 'string' ? body.model : 'mock-model';
  if (body.stream !== true) {
    const message = { role: 'assistant', content: 'Hello from the mock', refusal: null };
    const choices = [{ index: 0, message, logprobs: null, finish_reason: 'stop' }];
    return json(res, 200, { id: 'chatcmpl-mock', object: 'chat.completion', created: 0, model, choices, usage: USAGE });
  }
  const withUsage = body.stream_options?.include_usage === true;
  const extra = withUsage ? { usage: null } : {};
  const events = [
    chunk(0, { role: 'assistant', content: '' }, null, extra, model),
    ...['Hello', ' from', ' the mock'].map((content, i) => chunk(i + 1, { content }, null, extra, model)),
    chunk(4, {}, 'stop', extra, model),
  ];
  if (withUsage) events.push(chunk(5, null, null, { usage: USAGE }, model));
  stream(res, events, 0, true);
}

/** One `chat.completion.chunk`; `delta: null` makes the usage-only chunk (`choices: []`). */
function chunk(i: number, delta: object | null, finish: string | null, extra: object = {}, model = 'mock-model'): string {
  const choices = delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }];
  return JSON.stringify({ i, id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 0, model, choices, ...extra });
}

function stream(res: ServerResponse, events: string[], everyMs: number, done: boolean): void {
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  const write = (): void => {
    if (res.destroyed) return;
    if (next < events.length) {
      res.write(`data: ${events[next++]}\n\n`);
      if (next < events.length || done) timer = setTimeout(write, next < events.length ? everyMs : 0);
    } else if (done) {
      res.end('data: [DONE]\n\n');
    }
  };
  res.on('close', () => clearTimeout(timer));
  write();
}

/** Headers promising 1 KiB more than the `bytes` sent, then `then` once those are flushed. */
function partialBody(res: ServerResponse, bytes: number, then: () => void): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(bytes + 1024) });
  res.flushHeaders();
  res.socket?.write(Buffer.alloc(bytes, 'x'), then);
}

/** Writes `total` bytes in 64 KiB blocks, waiting for `drain` whenever the client falls behind. */
function pump(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  const write = (): void => {
    while (left > 0 && !res.destroyed) {
      const size = Math.min(left, BLOCK.length);
      left -= size;
      if (!res.write(size === BLOCK.length ? BLOCK : BLOCK.subarray(0, size))) return void res.once('drain', write);
    }
    if (!res.destroyed) res.end();
  };
  write();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function headersOf(raw: string[]): Record<string, string | string[]> {
  // A null prototype, so a header named `__proto__` is recorded rather than obeyed.
  const headers = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const previous = headers[name];
    headers[name] = previous === undefined ? raw[i + 1] : [...(Array.isArray(previous) ? previous : [previous]), raw[i + 1]];
  }
  return headers;
}

function keyOf(url: string, headers: Record<string, string | string[]>): string | null {
  const auth = first(headers.authorization);
  if (auth !== undefined && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const header = first(headers['x-api-key']) ?? first(headers['x-goog-api-key']);
  if (header !== undefined) return header;
  const query = url.indexOf('?');
  return query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get('key');
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
