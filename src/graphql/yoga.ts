import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { AdminAuth } from '../auth/admin-auth.ts';
import type { AdminServices } from '../admin/services.ts';
import type { JobService } from '../jobs/job-service.ts';
import type { Notifications } from '../notifications/service.ts';
import type { Logger } from '../logger.ts';
import { useAdminAuth } from './auth-plugin.ts';
import type { GraphQLContext } from './context.ts';
import { maskError } from './errors.ts';
import { logGraphQLError } from './error-logging.ts';
import { noIntrospection } from './no-introspection.ts';
import type { PublishedRelations } from './published-relations.ts';
import { reportUnusedQueries } from './builder.ts';
import { getSchema } from './schema.ts';
import { renderLocalGraphiQL } from './graphiql.ts';
import { useRequestGuard } from './request-guard.ts';
import { corsFor } from './cors.ts';
import { useRejectNulArguments } from './reject-nul.ts';
import { useSharedSubscriptionExecution } from './shared-subscription-execution.ts';

export interface GraphQLOptions {
  services: AdminServices;
  /** Relations of rows published to subscriptions; the gateway keeps it in step with the bus. */
  relations: PublishedRelations;
  /** The job service the job fields act on; null answers them with CONFLICT. */
  jobs?: JobService | null;
  notifications?: Notifications | null;
  auth: AdminAuth;
  log: Logger;
  graphiql: boolean;
  introspection: boolean;
  production: boolean;
  /** Unexpected errors keep message and stack (a developer's own machine only; see config). */
  errorDetails?: boolean;
  /** Browser origins granted CORS (KEYRELAY_ALLOWED_ORIGINS); none by default. */
  allowedOrigins?: readonly string[];
}

export type KeyrelayYoga = YogaServerInstance<Record<string, unknown>, GraphQLContext>;

/** Limits that apply on every transport (HTTP, SSE and WebSocket share this envelop). */
export const ARMOR = {
  maxDepth: { n: 10 },
  costLimit: { maxCost: 5000 },
  maxAliases: { n: 15 },
  maxTokens: { n: 2000 },
  maxDirectives: { n: 50 },
};

export function createGraphQLServer(opts: GraphQLOptions): KeyrelayYoga {
  reportUnusedQueries(opts.production ? null : (field) => opts.log.warn({ field }, 'Prisma query was unused in resolver'));
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    renderGraphiQL: renderLocalGraphiQL,
    graphiql: opts.graphiql
      ? { title: 'keyrelay admin', shouldPersistHeaders: false }
      : false,
    maskedErrors: { maskError, isDev: opts.errorDetails ?? !opts.production },
    cors: corsFor(opts.allowedOrigins ?? []) as never,
    context: () => ({ services: opts.services, relations: opts.relations, jobs: opts.jobs ?? null, notifications: opts.notifications ?? null }),
    // h3 does not recognise Yoga's ponyfilled Response; hand it the native classes.
    fetchAPI: { Request, Response, Headers, ReadableStream, fetch, URL, TextEncoder, TextDecoder, FormData, Blob, File } as never,
    logging: {
      debug: (...args) => opts.log.debug({ detail: args.map(String) }, 'graphql'),
      info: (...args) => opts.log.info({ detail: args.map(String) }, 'graphql'),
      warn: (...args) => opts.log.warn({ detail: args.map(String) }, 'graphql'),
      error: (...args) => logGraphQLError(opts.log, args),
    },
    plugins: [
      useAdminAuth(opts.auth, opts.graphiql),
      // CSRF: JSON-only POSTs, and a GET must carry Authorization or Yoga's CSRF header (see request-guard.ts).
      useRequestGuard(),
      useRejectNulArguments(),
      // One execution per event for subscribers of the same operation (see shared-subscription-execution.ts).
      useSharedSubscriptionExecution(),
      EnvelopArmorPlugin({ ...ARMOR, blockFieldSuggestion: { enabled: opts.production } }),
      ...(opts.introspection ? [] : [{ onValidate: ({ addValidationRule }: { addValidationRule: (rule: unknown) => void }) => addValidationRule(noIntrospection) }]),
    ] as never,
  });
}
