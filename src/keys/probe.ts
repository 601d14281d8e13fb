import { Agent, type Dispatcher } from 'undici';
import { buildUpstreamHeaders } from '../upstream-http/headers.ts';
import { appendQueryParam, buildUpstreamPath } from '../upstream-http/target-url.ts';
import type { ApiKeyState, UpstreamConfig, UpstreamProbe } from '../state/types.ts';

export interface KeyProbeResult {
  keyId: string;
  ok: boolean;
  /** The upstream's status; null when no response arrived. */
  status: number | null;
  /** Why the probe failed, in words that never carry the key, host or URL. */
  error: string | null;
  latencyMs: number;
}

export interface ProbeOptions {
  /** Reuse a dispatcher (validateKeys shares one); otherwise a one-off Agent is made and closed. */
  dispatcher?: Dispatcher;
}

/** A probe never waits longer than this, whatever the upstream's own timeouts. */
const MAX_PROBE_MS = 30_000;
const MAX_DRAIN_BYTES = 256 * 1024;

// Error codes to fixed phrases: undici and node messages may name the host or
// the full URL (with a `?key=` for QUERY auth), so none of them is passed on.
const ERROR_PHRASES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for response headers',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response body',
  UND_ERR_SOCKET: 'connection failed',
  UND_ERR_ABORTED: 'aborted',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  UNSAFE_HEADER: 'the key or a static header cannot be sent safely',
  BAD_PATH: 'the probe path was rejected',
  HPE_INVALID_CONSTANT: 'the upstream did not answer HTTP',
};

export function describeProbeError(error: unknown): string {
  if ((error as Error)?.name === 'TimeoutError') return 'timed out';
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return ERROR_PHRASES[code] ?? `request failed (${code.replace(/[^A-Z0-9_]/gi, '').slice(0, 40)})`;
  return 'request failed';
}

/** The origin, path and headers of one probe request with `key` injected as the proxy would. */
export function buildProbeRequest(upstream: UpstreamConfig, probe: UpstreamProbe, key: ApiKeyState) {
  const base = new URL(upstream.baseUrl);
  const q = probe.path.indexOf('?');
  const clientPath = q < 0 ? probe.path : probe.path.slice(0, q);
  const search = q < 0 ? '' : probe.path.slice(q);
  const queryAuth = upstream.authType === 'QUERY' && upstream.authName !== null;
  let path = buildUpstreamPath(base.pathname === '/' ? '' : base.pathname, clientPath, search, queryAuth ? [upstream.authName!] : []);
  if (queryAuth) path = appendQueryParam(path, upstream.authName!, key.secret);
  const body = probe.body ?? null;
  const flat = buildUpstreamHeaders(body !== null ? ['content-type', 'application/json'] : [], {
    clientIp: '',
    proto: 'http',
    stripNames: new Set(),
    staticHeaders: upstream.headers,
    auth: { type: upstream.authType, name: upstream.authName, secret: key.secret },
    contentLength: body !== null ? Buffer.byteLength(body) : null,
  });
  // A probe comes from keyrelay itself, not on behalf of a client.
  const headers: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i] !== 'x-forwarded-for' && flat[i] !== 'x-forwarded-proto') headers.push(flat[i], flat[i + 1]);
  }
  return { origin: base.origin, path, headers, body };
}

/**
 * Sends the upstream's probe request with `key` and reports whether the
 * status was the expected one. Never throws for network or upstream trouble:
 * that is a failed probe. The response body is drained and dropped (it may
 * echo the key).
 */
export async function probeKey(upstream: UpstreamConfig, key: ApiKeyState, opts: ProbeOptions = {}): Promise<KeyProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const probe = upstream.probe;
  if (probe === null) return { keyId: key.id, ok: false, status: null, error: 'the upstream has no probe', latencyMs: 0 };
  const timeout = Math.min(upstream.timeoutMs, MAX_PROBE_MS);
  const own = opts.dispatcher ? null : new Agent({ connect: { timeout: Math.min(upstream.connectTimeoutMs, MAX_PROBE_MS) } });
  const dispatcher = opts.dispatcher ?? own!;
  try {
    const req = buildProbeRequest(upstream, probe, key);
    const res = await dispatcher.request({
      origin: req.origin,
      path: req.path,
      method: probe.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(MAX_PROBE_MS),
    });
    await res.body.dump({ limit: MAX_DRAIN_BYTES }).catch(() => {});
    const ok = res.statusCode === probe.expectStatus;
    return { keyId: key.id, ok, status: res.statusCode, error: ok ? null : `expected status ${probe.expectStatus}, got ${res.statusCode}`, latencyMs: elapsed() };
  } catch (error) {
    return { keyId: key.id, ok: false, status: null, error: describeProbeError(error), latencyMs: elapsed() };
  } finally {
    await own?.destroy().catch(() => {});
  }
}
