import type { ExecutionArgs, GraphQLError } from 'graphql';
import { makeHooks } from 'graphql-ws/use/crossws';
import { bearerToken, type AdminAuth } from '../auth/admin-auth.ts';
import type { Logger } from '../logger.ts';
import { skipWhileBacklogged } from './bounded-iterator.ts';
import { corkBursts } from './ws-cork.ts';
import type { KeyrelayYoga } from './yoga.ts';

type Enveloped = ReturnType<KeyrelayYoga['getEnveloped']>;

/** Unsent bytes a WebSocket may hold before subscription events for it are dropped. */
export const WS_BACKLOG_LIMIT_BYTES = 4 * 1024 * 1024;

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Browsers send Origin on WebSocket upgrades; a page on another site must not reach the admin API (CSWSH). */
export function originAllowed(request: Pick<Request, 'headers' | 'url'>, allowed: string[]): boolean {
  const origin = request.headers.get('origin');
  if (!origin) return true; // not a browser: the admin token still has to be right
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === (request.headers.get('host') ?? new URL(request.url).host);
  } catch {
    return false;
  }
}

/**
 * graphql-ws over crossws on /graphql. Operations run through Yoga's envelop
 * (getEnveloped in onSubscribe), so auth, graphql-armor limits and error
 * masking are the same as over HTTP and SSE.
 */
export function createGraphQLWsHooks(yoga: KeyrelayYoga, auth: AdminAuth, allowedOrigins: string[], log?: Logger) {
  const hooks = makeHooks<Record<string, unknown>>({
    connectionInitWaitTimeout: 3000,
    // false closes the socket with 4403 Forbidden
    onConnect: (ctx) => {
      const params = ctx.connectionParams ?? {};
      const header = (params.authorization ?? params.Authorization) as string | undefined;
      const token = typeof params.token === 'string' ? params.token : bearerToken(header);
      return auth.verify(token);
    },
    execute: (args) => (args.rootValue as Enveloped).execute(args),
    // graphql-ws sends without waiting for the socket, so a stalled client would
    // pile events up in the socket's buffer: past a backlog, drop and count them.
    subscribe: async (args) => {
      const result = await (args.rootValue as Enveloped).subscribe(args);
      if (!isAsyncIterable(result)) return result;
      const socket = (args.contextValue as { extra?: { socket?: { bufferedAmount?: number } } }).extra?.socket;
      return skipWhileBacklogged(result, () => socket?.bufferedAmount ?? 0, WS_BACKLOG_LIMIT_BYTES, {
        onFirstDrop: () => log?.warn({ backlogBytes: socket?.bufferedAmount }, 'slow WebSocket subscriber: dropping events'),
        onClose: (dropped) => log?.warn({ dropped }, 'slow WebSocket subscriber closed; events were dropped'),
      }) as never;
    },
    onSubscribe: async (ctx, _id, payload) => {
      const enveloped = yoga.getEnveloped({ ...ctx, params: payload });
      // Syntax errors and graphql-armor's limits (its rules throw during validation)
      // must reach the client as an `error` message, not close the socket.
      try {
        const document = enveloped.parse(payload.query);
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      } catch (error) {
        if (isGraphQLError(error)) return [error];
        throw error;
      }
    },
  });
  return {
    ...hooks,
    // graphql-ws's default prints socket errors (an oversized frame, a reset) with console.error.
    error(peer: { close(code?: number, reason?: string): void }, error: unknown) {
      log?.warn({ err: error }, 'WebSocket error; closing');
      peer.close(1011, 'Internal server error');
    },
    open(peer: Parameters<NonNullable<typeof hooks.open>>[0]) {
      corkBursts(peer as never);
      return hooks.open?.(peer);
    },
    upgrade(request: Request) {
      if (!originAllowed(request, allowedOrigins)) throw new Response('origin not allowed', { status: 403 });
      return hooks.upgrade(request);
    },
  };
}
