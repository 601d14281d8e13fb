import { request } from 'undici';
import { Webhook } from 'standardwebhooks';
import type { NotificationPayload } from './notice.ts';
import { withRetries, type AttemptOutcome, type SendResult } from './retry.ts';

export interface WebhookSettings {
  /** One attempt's limit, connection to the end of the response. */
  timeoutMs: number;
  backoffMs: number;
  signal?: AbortSignal;
}

/** Why an attempt failed, without the URL (its query may carry a token) or anything of the payload. */
function describe(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; code?: string; message?: string };
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs} ms`;
  return e?.code ?? e?.name ?? 'network error';
}

async function attempt(url: string, signer: Webhook, msgId: string, body: string, s: WebhookSettings): Promise<AttemptOutcome> {
  // A retry is the same message (same webhook-id, so receivers can deduplicate), signed afresh with its own timestamp.
  const at = new Date();
  try {
    const res = await request(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'keyrelay-webhooks',
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(msgId, at, body),
      },
      // Shutdown cuts an attempt under way too, rather than waiting out its timeout.
      signal: s.signal ? AbortSignal.any([AbortSignal.timeout(s.timeoutMs), s.signal]) : AbortSignal.timeout(s.timeoutMs),
      headersTimeout: s.timeoutMs,
      bodyTimeout: s.timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, retryable: false, error: null };
    // The spec's senders retry server trouble; a 4xx (or a redirect) says this request will not do.
    return { ok: false, retryable: res.statusCode >= 500, error: `HTTP ${res.statusCode}` };
  } catch (error) {
    return { ok: false, retryable: true, error: describe(error, s.timeoutMs) };
  }
}

/** POSTs a Standard Webhooks message: signed JSON, a timeout per attempt, retries with backoff on network errors and 5xx. */
export function sendWebhook(target: { url: string; secret: string }, msgId: string, payload: NotificationPayload, s: WebhookSettings): Promise<SendResult> {
  const signer = new Webhook(target.secret);
  const body = JSON.stringify(payload);
  return withRetries(() => attempt(target.url, signer, msgId, body, s), { backoffMs: s.backoffMs, signal: s.signal });
}
