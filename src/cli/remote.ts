// The CLI's link to a running keyrelay: its GraphQL API at KEYRELAY_URL with
// the admin token (KEYRELAY_ADMIN_TOKEN, or --url / --token).

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface Remote {
  url: string;
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

export function connect(opts: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Remote {
  const url = (opts.url ?? env.KEYRELAY_URL ?? '').replace(/\/+$/, '');
  const token = opts.token ?? env.KEYRELAY_ADMIN_TOKEN;
  if (!url) throw new CliError('set KEYRELAY_URL (or --url) to the running keyrelay, e.g. http://127.0.0.1:8000', 2);
  if (!token) throw new CliError('set KEYRELAY_ADMIN_TOKEN (or --token) to the admin token', 2);
  return {
    url,
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      let res: Response;
      try {
        res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
      } catch (error) {
        throw new CliError(`cannot reach keyrelay at ${url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
      }
      const text = await res.text();
      let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }> };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new CliError(`keyrelay at ${url} answered ${res.status} with something other than GraphQL`);
      }
      if (body.errors?.length) {
        const e = body.errors[0]!;
        const code = e.extensions?.code ? ` (${e.extensions.code}${e.extensions.field ? `, ${e.extensions.field}` : ''})` : '';
        throw new CliError(`${e.message}${code}`);
      }
      if (!body.data) throw new CliError(`keyrelay at ${url} answered ${res.status} without data`);
      return body.data;
    },
  };
}
