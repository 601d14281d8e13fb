// An upstream may echo the credential it got in a response header
// (`www-authenticate: Bearer error="<key>"`, a debug `x-echo-auth`, a
// `location` carrying `?key=`), on any status. Every header goes through the
// same scrub as an error body before the client sees it: the pool keys and
// the client's token in every encoded form always, and key-shaped strings too
// on error statuses (as for the body), while a 2xx's other headers (cookies,
// links) are left working.

import type { Redactor } from '../logs/redact.ts';
import type { ResponseHeaders } from '../upstream-http/headers.ts';

export function redactResponseHeaders(headers: ResponseHeaders, status: number, secrets: readonly string[], redactor: Redactor): void {
  const scrub = status >= 400 ? (v: string) => redactor.redact(v, secrets) : (v: string) => redactor.redactSecrets(v, secrets);
  for (const name in headers) {
    // A header whose very name carries a secret cannot be cleaned by a value change.
    if (scrub(name) !== name) {
      delete headers[name];
      continue;
    }
    const value = headers[name];
    if (typeof value === 'string') {
      const clean = scrub(value);
      if (clean !== value) headers[name] = clean;
    } else {
      headers[name] = value.map(scrub);
    }
  }
}
