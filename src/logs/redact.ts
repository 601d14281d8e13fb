// Redaction runs on every logged URL, header dump, error message and captured
// body, so it is built to be cheap when nothing matches: each replacement is
// guarded by a substring check, and the regexes are compiled once.

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are skipped: replacing them would shred ordinary text. */
const MIN_SECRET_LENGTH = 6;
/** Per-redactor memo of secret -> forms to replace; cleared when full (keys rotate rarely). */
const MAX_CACHED_SECRETS = 1024;

const BEARER = /\b(bearer\s+)([\w.~+/=-]{8,})/gi;
// `sk-ant-…` and `sk-proj-…` are covered: `-` belongs to the tail class.
const SK_KEY = /\bsk-([\w-]{16,})/g;
/** A (capitalised) lower-case word or hyphenated name: "Bearer instruments", "sk-loading-spinner-box". */
const PLAIN_WORD = /^[A-Za-z]?[a-z-]*\.?$/;
const GOOGLE_KEY = /\bAIza[\w-]{16,}/g;
const QUERY_SECRET = /(?<![\w-])((?:api[_-]?key|key|token|access_token|signature)=)[^&#\s"'<>]+/gi;
const QUERY_SECRET_NAMES = new Set(['key', 'api_key', 'token', 'access_token', 'signature']);

export interface Redactor {
  /** Replaces the given secrets (raw, URL-encoded, base64) and key-shaped strings with `[REDACTED]`. */
  redact(text: string, secrets: readonly string[]): string;
  /** Replaces only the given secrets (every form), not key-shaped strings: for text that must keep working, like a 2xx's headers. */
  redactSecrets(text: string, secrets: readonly string[]): string;
  /** Replaces the values of the query parameters key, api_key, token, access_token and signature. */
  redactUrl(pathAndQuery: string): string;
}

export function createRedactor(): Redactor {
  const formsBySecret = new Map<string, readonly string[]>();

  function formsOf(secret: string): readonly string[] {
    let forms = formsBySecret.get(secret);
    if (forms === undefined) {
      if (formsBySecret.size >= MAX_CACHED_SECRETS) formsBySecret.clear();
      forms = secretForms(secret);
      formsBySecret.set(secret, forms);
    }
    return forms;
  }

  function redactSecrets(text: string, secrets: readonly string[]): string {
    let out = text;
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      for (const form of formsOf(secret)) {
        if (out.includes(form)) out = out.replaceAll(form, REDACTED);
      }
    }
    return out;
  }

  return {
    redact: (text, secrets) => redactPatterns(redactSecrets(text, secrets)),
    redactSecrets,
    redactUrl,
  };
}

function redactPatterns(text: string): string {
  let out = text;
  // Checking the token in a replacer, not in a lookahead, keeps `sk-sk-sk-…` linear.
  if (out.includes('earer') || out.includes('EARER')) {
    out = out.replace(BEARER, (match, scheme: string, token: string) =>
      PLAIN_WORD.test(token) ? match : scheme + REDACTED,
    );
  }
  if (out.includes('sk-')) {
    out = out.replace(SK_KEY, (match, tail: string) => (PLAIN_WORD.test(tail) ? match : REDACTED));
  }
  if (out.includes('AIza')) out = out.replace(GOOGLE_KEY, REDACTED);
  if (out.includes('=')) out = out.replace(QUERY_SECRET, `$1${REDACTED}`);
  return out;
}

/**
 * Every form of `secret` worth replacing, longest first (so a full form is
 * replaced before a substring of it could break the match).
 *
 * Base64 is covered at all three byte alignments because a secret is often
 * encoded inside something larger (`Basic base64(user:secret)`): for each
 * alignment only the characters that depend on secret bytes alone are kept.
 */
function secretForms(secret: string): readonly string[] {
  const forms = new Set<string>([secret, encodeURIComponent(secret)]);
  const bytes = Buffer.from(secret, 'utf8');
  forms.add(bytes.toString('base64'));
  forms.add(bytes.toString('base64url'));
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const skip = offset === 0 ? 0 : 3;
    const end = Math.floor(padded.length / 3) * 3;
    if (end - skip < 3) continue;
    const core = padded.subarray(skip, end);
    forms.add(core.toString('base64'));
    forms.add(core.toString('base64url'));
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

function redactUrl(pathAndQuery: string): string {
  const queryStart = pathAndQuery.indexOf('?');
  if (queryStart === -1) return pathAndQuery;
  const hashStart = pathAndQuery.indexOf('#', queryStart);
  const queryEnd = hashStart === -1 ? pathAndQuery.length : hashStart;

  let out = '';
  let copiedUpTo = 0;
  let start = queryStart + 1;
  while (start < queryEnd) {
    let end = pathAndQuery.indexOf('&', start);
    if (end === -1 || end > queryEnd) end = queryEnd;
    const eq = pathAndQuery.indexOf('=', start);
    if (eq !== -1 && eq < end && eq + 1 < end && isSecretParam(pathAndQuery.slice(start, eq))) {
      out += pathAndQuery.slice(copiedUpTo, eq + 1) + REDACTED;
      copiedUpTo = end;
    }
    start = end + 1;
  }
  return copiedUpTo === 0 ? pathAndQuery : out + pathAndQuery.slice(copiedUpTo);
}

function isSecretParam(rawName: string): boolean {
  let name = rawName;
  if (name.includes('%') || name.includes('+')) {
    try {
      name = decodeURIComponent(name.replaceAll('+', ' '));
    } catch {
      return false;
    }
  }
  return QUERY_SECRET_NAMES.has(name.toLowerCase());
}
