// CORS for /graphql. Yoga's default reflects any Origin with credentials,
// which would let any web page drive the admin API with a browser's stored
// credentials; keyrelay grants CORS only to the origins in
// KEYRELAY_ALLOWED_ORIGINS (`*` grants any origin, never with credentials).

type CorsOptions = { origin: string[]; credentials: boolean; methods: string[]; allowedHeaders: string[]; maxAge: number } | false;

const METHODS = ['GET', 'POST', 'OPTIONS'];
const HEADERS = ['content-type', 'authorization', 'x-graphql-yoga-csrf', 'accept'];

/** Yoga's `cors` option: a factory deciding per request. */
export function corsFor(allowed: readonly string[]): ((request: Request) => CorsOptions) | false {
  if (allowed.length === 0) return false;
  const any = allowed.includes('*');
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null) return false;
    if (allowed.includes(origin)) return { origin: [origin], credentials: true, methods: METHODS, allowedHeaders: HEADERS, maxAge: 600 };
    if (any) return { origin: ['*'], credentials: false, methods: METHODS, allowedHeaders: HEADERS, maxAge: 600 };
    return false;
  };
}
