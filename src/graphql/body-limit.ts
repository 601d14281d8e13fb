// The GraphQL body limit, counted as bytes arrive: a Content-Length past the
// limit is refused before reading, and a chunked body (no length) is read only
// up to the limit, so a client cannot make the gateway hold or parse more.

export const tooLarge = (): Response =>
  new Response(JSON.stringify({ errors: [{ message: 'request body too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }), {
    status: 413,
    headers: { 'content-type': 'application/json', connection: 'close' },
  });

/** The request to hand Yoga (its body buffered when it had no length), or a 413 response. */
export async function limitBody(req: Request, maxBytes: number): Promise<Request | Response> {
  const declared = req.headers.get('content-length');
  if (declared !== null) return Number(declared) > maxBytes ? tooLarge() : req;
  if (req.body === null) return req;
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return tooLarge();
    }
    parts.push(value);
  }
  const headers = new Headers(req.headers);
  headers.delete('transfer-encoding');
  headers.set('content-length', String(total));
  return new Request(req.url, { method: req.method, headers, body: Buffer.concat(parts), signal: req.signal });
}
