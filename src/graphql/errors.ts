import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { isDatabaseUnreachable } from '../db/unreachable.ts';
import { DomainError } from '../errors.ts';

/**
 * Expected errors reach the client with extensions.code and extensions.field;
 * anything else is masked ("Unexpected error.") unless in development.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  // Duck-typed: the executor may wrap errors with its own copy of GraphQLError.
  const located = error as Partial<GraphQLError>;
  const original = located.originalError ?? error;
  if (original instanceof DomainError) {
    return new GraphQLError(original.message, {
      nodes: located.nodes,
      path: located.path,
      extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
    });
  }
  // An outage, not a bug: the caller may retry (proxying goes on from memory meanwhile).
  if (isDatabaseUnreachable(original)) {
    return new GraphQLError('the database is unreachable; try again once it is back', {
      nodes: located.nodes,
      path: located.path,
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  }
  return yogaMaskError(error, message, isDev);
}
