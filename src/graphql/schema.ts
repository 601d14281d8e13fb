import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/enums.ts';
import './types/upstream.ts';
import './types/api-key.ts';
import './types/rule-condition.ts';
import './types/rule.ts';
import './types/rule-tools.ts';
import './types/access-token.ts';
import './types/request-log.ts';
import './types/key-event.ts';
import './types/subscriptions.ts';
import './types/jobs.ts';
import './types/key-counts.ts';
import './types/key-bulk.ts';
import './types/key-update.ts';
import './types/key-transfer.ts';
import './types/config-transfer.ts';
import './types/stats.ts';
import './types/rate-limit.ts';
import './types/header-script.ts';
import './types/notifications.ts';
import './types/alerts.ts';

let schema: GraphQLSchema | null = null;

export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: true });
  return schema;
}

/** The SDL checked in as schema.graphql. */
export function printSortedSchema(): string {
  return printSchema(lexicographicSortSchema(getSchema())) + '\n';
}
