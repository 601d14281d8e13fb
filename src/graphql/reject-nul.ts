// A NUL can reach the database through any argument, an id as much as a
// name, and PostgreSQL refuses it with an error that would surface as an
// internal one. Every operation's arguments are checked before it runs, on
// every transport (an envelop plugin): a NUL is BAD_USER_INPUT naming the
// argument path, as the input schemas name theirs.

import { GraphQLError, Kind, visit, type ArgumentNode, type DocumentNode, type ValueNode } from 'graphql';
import { findNul, NO_CONTROL_MESSAGE } from '../text.ts';

function inValue(node: ValueNode, variables: Record<string, unknown>, path: string[]): string[] | null {
  switch (node.kind) {
    case Kind.STRING:
      return node.value.includes('\u0000') ? path : null;
    case Kind.VARIABLE: {
      const found = findNul(variables[node.name.value]);
      return found === null ? null : [...path, ...found];
    }
    case Kind.LIST:
      for (let i = 0; i < node.values.length; i++) {
        const found = inValue(node.values[i], variables, [...path, String(i)]);
        if (found !== null) return found;
      }
      return null;
    case Kind.OBJECT:
      for (const field of node.fields) {
        const found = inValue(field.value, variables, [...path, field.name.value]);
        if (found !== null) return found;
      }
      return null;
    default:
      return null;
  }
}

/** The path (argument name first) of the first argument value holding a NUL, or null. */
export function nulArgument(document: DocumentNode, variables: Record<string, unknown> | null | undefined): string | null {
  let found: string[] | null = null;
  visit(document, {
    Argument(node: ArgumentNode) {
      found ??= inValue(node.value, variables ?? {}, [node.name.value]);
    },
  });
  return found === null ? null : (found as string[]).join('.');
}

type Stoppable = { args: { document: DocumentNode; variableValues?: Record<string, unknown> | null }; setResultAndStopExecution: (result: never) => void };

function check({ args, setResultAndStopExecution }: Stoppable): void {
  const field = nulArgument(args.document, args.variableValues);
  if (field === null) return;
  const error = new GraphQLError(`${field}: ${NO_CONTROL_MESSAGE}`, { extensions: { code: 'BAD_USER_INPUT', field } });
  setResultAndStopExecution({ errors: [error] } as never);
}

export const useRejectNulArguments = () => ({ onExecute: check, onSubscribe: check });
