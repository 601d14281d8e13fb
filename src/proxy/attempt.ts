// One attempt against the upstream, as an undici dispatch handler: no web
// streams and no Readable in between, each body chunk goes from undici's
// parser to `res.write` (backpressure by pausing undici until `drain`).
// At the response headers the forwarder decides: stream (2xx/3xx, written
// to the client as they come), buffer (errors and retryable statuses, kept
// whole up to a cap so rules can read them and the request can be retried),
// or abandon (a rule took the key out and another key will be tried).

import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ByteCapture } from '../inspect/byte-capture.ts';
import { SseScanner } from '../inspect/sse.ts';
import type { ApiKeyState } from '../state/types.ts';

export type AttemptEnd =
  /** No usable response: nothing was sent to the client. */
  | { kind: 'failed'; error: unknown }
  /** The whole (error or retryable) response is in body(). */
  | { kind: 'buffered' }
  /** The response went to the client; `error` when it broke off mid-way. */
  | { kind: 'streamed'; error: unknown }
  /** The forwarder dropped this response to retry on another key. */
  | { kind: 'abandoned' };

export interface AttemptHooks {
  /** At the final response headers. */
  decide(attempt: Attempt): 'stream' | 'buffer' | 'abandon';
  /** A buffered body outgrew the buffer: stream it after all, or drop it and retry. */
  overflow(attempt: Attempt): 'stream' | 'abandon';
  /** Write the response head to the client; streaming starts right after. */
  commit(attempt: Attempt): void;
}

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

const UNDECIDED = 0;
const BUFFER = 1;
const STREAM = 2;
const ABANDONED = 3;
const NO_HEADERS: Headers = {};
const ABANDON = new Error('response abandoned for a retry');

export class Attempt implements Dispatcher.DispatchHandler {
  controller: Controller | null = null;
  /** undici began writing the request on a socket: the upstream may have seen it. */
  started = false;
  status = 0;
  headers: Headers = NO_HEADERS;
  readonly dispatchedAt = performance.now();
  headersAt = 0;
  endedAt = 0;
  capture: ByteCapture | null = null;
  scanner: SseScanner | null = null;
  bytesOut = 0;
  readonly ended: Promise<AttemptEnd>;
  private mode = UNDECIDED;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private settled = false;
  private cancelReason: Error | null = null;
  private resolveEnd!: (end: AttemptEnd) => void;
  /** Set once the client's socket pushed back: most responses never need the listener. */
  private onDrain: (() => void) | null = null;

  constructor(
    readonly key: ApiKeyState,
    private readonly res: ServerResponse,
    private readonly hooks: AttemptHooks,
    private readonly bufferCap: number,
    readonly captureCap: number,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
  }

  get isEventStream(): boolean {
    const type = this.headers['content-type'];
    return typeof type === 'string' && type.includes('text/event-stream');
  }

  /** The buffered response body. */
  body(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Aborts the attempt (client gone, body over the limit); settles at once if undici has not started it. */
  cancel(reason: Error): void {
    if (this.settled || this.cancelReason !== null) return;
    this.cancelReason = reason;
    if (this.controller !== null) this.controller.abort(reason);
    else this.finish({ kind: 'failed', error: reason });
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    // Cancelled while connecting: undici checks this right before writing, so nothing is sent.
    if (this.cancelReason !== null) return controller.abort(this.cancelReason);
    this.started = true;
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    if (statusCode < 200) return; // 1xx: informational, the final head follows
    this.status = statusCode;
    this.headers = headers;
    this.headersAt = performance.now();
    const decision = this.hooks.decide(this);
    if (decision === 'abandon') return this.abandon(controller);
    if (decision === 'buffer') this.mode = BUFFER;
    else this.startStreaming(controller, null);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.mode === STREAM) return this.forward(controller, chunk);
    if (this.mode !== BUFFER) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered <= this.bufferCap) return;
    if (this.hooks.overflow(this) === 'abandon') return this.abandon(controller);
    const held = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    this.startStreaming(controller, held);
  }

  onResponseEnd(): void {
    this.endedAt = performance.now();
    if (this.mode === STREAM) {
      if (!this.res.writableEnded) this.res.end();
      return this.finish({ kind: 'streamed', error: null });
    }
    // A 1xx-only exchange cannot end here; an undecided end is treated as buffered (empty body).
    this.finish(this.mode === ABANDONED ? { kind: 'abandoned' } : { kind: 'buffered' });
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    this.endedAt = performance.now();
    if (this.mode === STREAM) return this.finish({ kind: 'streamed', error });
    this.finish(this.mode === ABANDONED ? { kind: 'abandoned' } : { kind: 'failed', error });
  }

  private abandon(controller: Controller): void {
    this.mode = ABANDONED;
    controller.abort(ABANDON);
  }

  private startStreaming(controller: Controller, held: Buffer[] | null): void {
    this.mode = STREAM;
    this.capture = new ByteCapture(this.captureCap);
    if (this.isEventStream) this.scanner = new SseScanner();
    this.hooks.commit(this);
    if (held !== null) for (const chunk of held) this.forward(controller, chunk);
  }

  private forward(controller: Controller, chunk: Buffer): void {
    this.capture!.push(chunk);
    this.scanner?.push(chunk);
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    this.bytesOut += chunk.length;
    if (res.write(chunk)) return;
    controller.pause();
    if (this.onDrain === null) res.on('drain', (this.onDrain = () => this.controller?.resume()));
  }

  private finish(end: AttemptEnd): void {
    if (this.settled) return;
    this.settled = true;
    if (this.onDrain !== null) this.res.off('drain', this.onDrain);
    this.resolveEnd(end);
  }
}
