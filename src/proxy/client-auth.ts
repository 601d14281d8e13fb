// Client access tokens. Only SHA-256 digests are stored and compared: the
// presented token is hashed and looked up by digest, so no comparison ever
// runs over a stored secret, and learning how far a digest matched says
// nothing about any token (a timing-safe lookup by construction).

import type { IncomingMessage } from 'node:http';
import { sha256Hex } from '../crypto/tokens.ts';
import type { GatewayState, UpstreamRuntime } from '../state/gateway-state.ts';
import type { AccessTokenState } from '../state/types.ts';
import { readClientCredential } from '../upstream-http/headers.ts';

export type AuthResult =
  | { ok: true; token: AccessTokenState | null; presented: string | null }
  | { ok: false; code: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'UNKNOWN_UPSTREAM'; message: string; token: AccessTokenState | null; presented: string | null };

export const UNKNOWN_UPSTREAM_MESSAGE = 'no enabled upstream by that name';

const MAX_CACHED = 4096;

/**
 * The client's token, checked before the upstream is disclosed: `upstream` is
 * null when no enabled upstream has the requested name. Without a valid token
 * every name answers 401, and a token scoped to other upstreams gets the same
 * answer for an upstream it may not use as for one that does not exist, so
 * names cannot be probed. Only an upstream open to anonymous use (whose
 * existence anyone can see) tells a scoped token it is forbidden there.
 */
export type Authenticate = (req: IncomingMessage, search: string, upstream: UpstreamRuntime | null) => AuthResult;

export function createAuthenticator(state: GatewayState): Authenticate {
  // Presented token -> digest, kept for valid tokens only (junk cannot fill it); bounded.
  const digests = new Map<string, string>();
  const digestOf = (presented: string): string => {
    let digest = digests.get(presented);
    if (digest === undefined) {
      digest = sha256Hex(presented);
      if (state.tokensByHash.has(digest)) {
        if (digests.size >= MAX_CACHED) digests.clear();
        digests.set(presented, digest);
      }
    }
    return digest;
  };
  return (req, search, upstream) => authenticate(req, search, upstream, state, digestOf);
}

function authenticate(req: IncomingMessage, search: string, upstream: UpstreamRuntime | null, state: GatewayState, digestOf: (presented: string) => string): AuthResult {
  const presented = readClientCredential(req.headers, search);
  const anonymous = upstream !== null && upstream.config.allowAnonymous;
  if (presented === null) {
    if (anonymous) return { ok: true, token: null, presented: null };
    return { ok: false, code: 'UNAUTHENTICATED', message: 'an access token is required', token: null, presented };
  }
  const token = state.tokensByHash.get(digestOf(presented));
  if (token === undefined) {
    // On an open upstream a credential meant for someone else is not ours to judge; it is stripped anyway.
    if (anonymous) return { ok: true, token: null, presented };
    return { ok: false, code: 'UNAUTHENTICATED', message: 'invalid access token', token: null, presented };
  }
  if (!token.enabled) return { ok: false, code: 'UNAUTHENTICATED', message: 'access token revoked or disabled', token, presented };
  if (upstream === null) return { ok: false, code: 'UNKNOWN_UPSTREAM', message: UNKNOWN_UPSTREAM_MESSAGE, token, presented };
  if (token.upstreamIds.length > 0 && !token.upstreamIds.includes(upstream.config.id)) {
    if (anonymous) return { ok: false, code: 'FORBIDDEN', message: 'this access token may not use this upstream', token, presented };
    return { ok: false, code: 'UNKNOWN_UPSTREAM', message: UNKNOWN_UPSTREAM_MESSAGE, token, presented };
  }
  return { ok: true, token, presented };
}
