import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';

/**
 * Rejects `__schema` and `__type` (introspection) at validation; `__typename`
 * stays allowed, as clients add it. graphql-js's NoSchemaIntrospectionCustomRule
 * does the same through type checks (instanceof), which break when two copies
 * of graphql are loaded (ESM and CJS, as under vitest); a name check cannot.
 */
export function noIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const name = node.name.value;
      if (name === '__schema' || name === '__type') {
        context.reportError(new GraphQLError(`GraphQL introspection has been disabled, but the requested query contained the field "${name}".`, { nodes: node }));
      }
    },
  };
}
