// A second Prisma client on the test gateway's database whose driver adapter
// records every SQL statement, and a Yoga server built on it for in-process
// requests. Counting at the adapter counts real round trips, whatever the
// query compiler does with relations.
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaClient } from '../../../src/generated/prisma/client.ts';
import { PrismaClient as PgPrismaClient } from '../../../src/generated/prisma-pg/client.ts';
import { PublishedRelations } from '../../../src/graphql/published-relations.ts';
import { createGraphQLServer } from '../../../src/graphql/yoga.ts';
import { createLogger } from '../../../src/logger.ts';
import type { TestGateway } from '../../support/gateway.ts';

export interface SpiedGraphQL {
  queries: SqlQuery[];
  /** The recording client, for loads outside GraphQL. */
  prisma: PrismaClient;
  /** The server's loader of published rows' relations (it forgets rows on the gateway's bus events). */
  relations: PublishedRelations;
  /** POSTs one operation in-process; returns the parsed body. */
  run(query: string, variables?: Record<string, unknown>): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;
  /** Opens a subscription in-process over SSE; returns the streaming response. */
  stream(query: string, variables?: Record<string, unknown>): Promise<Response>;
  close(): Promise<void>;
}

function record<T extends object>(target: T, queries: SqlQuery[]): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'queryRaw' || prop === 'executeRaw') {
        return (query: SqlQuery) => {
          queries.push(query);
          return value.call(obj, query);
        };
      }
      if (prop === 'startTransaction') return async (...args: unknown[]) => record(await value.apply(obj, args), queries);
      return value.bind(obj);
    },
  });
}

export async function spyGraphQL(t: TestGateway, opts: { relationTtlMs?: number } = {}): Promise<SpiedGraphQL> {
  const queries: SqlQuery[] = [];
  const target = t.config.database;
  let pool: pg.Pool | null = null;
  let factory: SqlDriverAdapterFactory;
  if (target.provider === 'sqlite') {
    factory = new PrismaBetterSqlite3({ url: target.file }, { timestampFormat: 'unixepoch-ms' });
  } else {
    pool = new pg.Pool({ connectionString: target.url, max: 2 });
    factory = new PrismaPg(pool);
  }
  const spying: SqlDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => record<SqlDriverAdapter>(await factory.connect(), queries),
  };
  const prisma = target.provider === 'sqlite' ? new PrismaClient({ adapter: spying }) : (new PgPrismaClient({ adapter: spying }) as unknown as PrismaClient);
  const relations = new PublishedRelations(opts.relationTtlMs);
  const stopWatching = relations.watch(t.gateway.events);
  const yoga = createGraphQLServer({
    services: { ...t.gateway.services, prisma },
    relations,
    auth: { verify: () => true },
    log: createLogger('silent'),
    graphiql: false,
    introspection: true,
    production: false,
  });
  const post = async (query: string, variables: Record<string, unknown> | undefined, accept?: string) =>
    yoga.fetch('http://in-process/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x', ...(accept ? { accept } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  return {
    queries,
    prisma,
    relations,
    async run(query, variables) {
      return (await (await post(query, variables)).json()) as { data?: Record<string, unknown>; errors?: unknown[] };
    },
    stream: (query, variables) => post(query, variables, 'text/event-stream'),
    async close() {
      stopWatching();
      await prisma.$disconnect();
      await pool?.end();
    },
  };
}
