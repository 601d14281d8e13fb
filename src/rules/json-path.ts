import { JSONPath } from 'jsonpath-plus';
import { RuleValidationError } from './errors.ts';

export type JsonPathQuery = (document: unknown) => unknown[];

// With script evaluation off, jsonpath-plus throws on filters and script
// subscripts at query time; rejecting them when the rule is saved gives the
// user a clear error instead of a rule that silently never matches.
const SCRIPT_PATTERN = /\?\s*\(|\(\s*@|\[\s*\(/;

/** Syntax jsonpath-plus tolerates silently (it just drops what it cannot read). */
function findSyntaxProblem(path: string): string | null {
  if (!path.startsWith('$')) return 'must start with "$" (the document root)';
  if (path.length > 1 && path[1] !== '.' && path[1] !== '[') return 'expected "." or "[" after "$"';
  if (SCRIPT_PATTERN.test(path)) {
    return 'filter and script expressions such as [?(...)] and [(...)] are not supported (script evaluation is disabled)';
  }
  if (path.includes('@other()')) return '@other() is not supported';
  if (/\.{3}/.test(path) || /\.$/.test(path)) return 'unexpected "."';
  let depth = 0;
  let quote: string | null = null;
  for (const char of path) {
    if (quote) {
      if (char === quote) quote = null;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '[') {
      depth += 1;
    } else if (char === ']') {
      depth -= 1;
      if (depth < 0) return 'unbalanced "]"';
    }
  }
  if (quote) return `unterminated ${quote} quote`;
  if (depth !== 0) return 'unbalanced "["';
  return null;
}

function runQuery(path: string, document: unknown): unknown[] {
  const result: unknown = JSONPath({ path, json: document as object | null, eval: false, wrap: true });
  return Array.isArray(result) ? result : [];
}

/**
 * Validates a JSONPath when the rule is saved and returns a query that never
 * throws and never evaluates script.
 */
export function compileJsonPath(path: string, field: string): JsonPathQuery {
  const problem = findSyntaxProblem(path);
  if (problem) throw new RuleValidationError(field, `invalid JSONPath: ${problem}`);
  try {
    JSONPath.toPathArray(path);
    runQuery(path, { probe: [{ probe: 1 }] });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RuleValidationError(field, `invalid JSONPath: ${reason}`);
  }
  return (document) => {
    if (document === undefined) return [];
    try {
      return runQuery(path, document);
    } catch {
      return [];
    }
  };
}
