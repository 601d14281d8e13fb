import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** POST bodies a browser may send cross-site without a CORS preflight, and what curl -d sends by default. */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

export const CONTENT_TYPE_MESSAGE =
  'send POST /graphql with the header "content-type: application/json" (curl: -H "content-type: application/json"); form, multipart and text bodies are refused';

/**
 * Cross-site request forgery needs a request a browser sends without a CORS
 * preflight and with ambient credentials. keyrelay has no cookies: the admin
 * token travels in Authorization, and a header like that makes the browser
 * preflight, which keyrelay never approves. So:
 * - a POST must be JSON (a simple form or text body is refused with a message
 *   that says what to send, which is also what curl users need to hear);
 * - a GET (GraphiQL's SSE subscriptions) carrying Authorization cannot have
 *   been forged and passes; without it Yoga's CSRF header check still applies.
 */
export function useRequestGuard(): Plugin {
  const csrf = useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] });
  return {
    onRequestParse(payload) {
      const { request } = payload;
      if (request.method === 'POST') {
        const type = request.headers.get('content-type')?.toLowerCase() ?? '';
        if (type === '' || SIMPLE_CONTENT_TYPES.some((simple) => type.startsWith(simple))) {
          throw createGraphQLError(CONTENT_TYPE_MESSAGE, { extensions: { code: 'BAD_REQUEST', http: { status: 403 } } });
        }
        return;
      }
      if (request.headers.has('authorization')) return;
      return csrf.onRequestParse?.(payload as never);
    },
  };
}
