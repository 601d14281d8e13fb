// What an upstream says about a key's own budget. OpenAI sends
// x-ratelimit-remaining-{requests,tokens} with x-ratelimit-reset-{requests,tokens}
// as Go-style durations ("6m0s", "1.5s", "20ms"); Anthropic sends
// anthropic-ratelimit-{requests,tokens}-{remaining,reset} with RFC 3339 times;
// either may send retry-after (seconds or an HTTP date) on a 429.

import { parseRetryAfter } from '../upstream-http/backoff.ts';

export interface ProviderLimits {
  remainingRequests: number | null;
  remainingTokens: number | null;
  /** Epoch ms when the requests budget resets. */
  requestsResetAt: number | null;
  tokensResetAt: number | null;
  /** Epoch ms before which the key must not be used (a budget at zero, or retry-after). */
  blockedUntil: number;
  observedAt: number;
}

type Headers = Record<string, string | string[] | undefined>;

const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
/** A budget at zero with no reset time given is waited out for this long. */
const UNKNOWN_RESET_MS = 1000;
/** A plain number this large is a time (epoch seconds, 2001 on), not a duration. */
const EPOCH_SECONDS_MIN = 1_000_000_000;

/** Milliseconds of a Go duration ("6m0s", "1.5s", "20ms"), or of plain seconds ("2"); null when unreadable. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t.length === 0 || t.length > 64) return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(DURATION_PART)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed += m[0].length;
  }
  return consumed === t.length ? total : null;
}

/** Epoch ms of a reset header: a duration from now, or an RFC 3339 / HTTP date. */
export function parseResetAt(value: string, now: number): number | null {
  const ms = parseDuration(value);
  // Some APIs send the reset as epoch seconds ("1700000000"), which no window is long enough to be.
  if (ms !== null && ms >= EPOCH_SECONDS_MIN * 1000 && /^\d+$/.test(value.trim())) return ms;
  if (ms !== null) return now + ms;
  if (!/^\d{4}-\d\d-\d\dT/.test(value.trim())) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : null;
}

function header(headers: Headers, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
}

function count(value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value.trim());
  return value.trim().length > 0 && Number.isFinite(n) && n >= 0 ? n : null;
}

/** null when the response says nothing about limits (most proxied APIs). */
export function readProviderLimits(status: number, headers: Headers, now: number): ProviderLimits | null {
  const remainingRequests = count(header(headers, 'x-ratelimit-remaining-requests') ?? header(headers, 'anthropic-ratelimit-requests-remaining'));
  const remainingTokens = count(header(headers, 'x-ratelimit-remaining-tokens') ?? header(headers, 'anthropic-ratelimit-tokens-remaining'));
  const resetReq = header(headers, 'x-ratelimit-reset-requests') ?? header(headers, 'anthropic-ratelimit-requests-reset');
  const resetTok = header(headers, 'x-ratelimit-reset-tokens') ?? header(headers, 'anthropic-ratelimit-tokens-reset');
  const retryAfter = status === 429 || status === 503 ? parseRetryAfter(headers['retry-after'], now) : null;
  if (remainingRequests === null && remainingTokens === null && retryAfter === null) return null;
  const requestsResetAt = resetReq !== null ? parseResetAt(resetReq, now) : null;
  const tokensResetAt = resetTok !== null ? parseResetAt(resetTok, now) : null;
  let blockedUntil = 0;
  if (remainingRequests === 0) blockedUntil = Math.max(blockedUntil, requestsResetAt ?? now + UNKNOWN_RESET_MS);
  if (remainingTokens === 0) blockedUntil = Math.max(blockedUntil, tokensResetAt ?? now + UNKNOWN_RESET_MS);
  if (retryAfter !== null) blockedUntil = Math.max(blockedUntil, now + retryAfter);
  return { remainingRequests, remainingTokens, requestsResetAt, tokensResetAt, blockedUntil, observedAt: now };
}
