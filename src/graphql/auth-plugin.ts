import type { Plugin } from 'graphql-yoga';
import { bearerToken, type AdminAuth } from '../auth/admin-auth.ts';

/** The JSON body of a 401; the same shape GraphQL clients read errors from. */
export const UNAUTHENTICATED_BODY = JSON.stringify({
  errors: [{ message: 'missing or invalid admin token: send Authorization: Bearer <KEYRELAY_ADMIN_TOKEN>', extensions: { code: 'UNAUTHENTICATED' } }],
});

/**
 * Every operation over HTTP (and SSE, which is HTTP) needs the admin token.
 * Only the GraphiQL page itself loads without it, so a person can open it and
 * paste the token into its headers editor.
 */
export function useAdminAuth(auth: AdminAuth, graphiql: boolean): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (graphiql && request.method === 'GET' && !url.searchParams.has('query') && request.headers.get('accept')?.includes('text/html')) return;
      if (auth.verify(bearerToken(request.headers.get('authorization')))) return;
      endResponse(new fetchAPI.Response(UNAUTHENTICATED_BODY, { status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' } }));
    },
  };
}
