import { JSONPath } from 'jsonpath-plus';
import { RuleValidationError } from './errors.ts';
import { BudgetExhausted, evaluatePath, type Budget, type Segment } from './json-path-eval.ts';

/** Runs against one document within the caller's budget; throws BudgetExhausted when it runs out. */
export type JsonPathQuery = (document: unknown, budget: Budget) => unknown[];

/**
 * Recursive-descent segments (`..`) a path may hold: each one multiplies the
 * nodes an evaluation visits by the document's size, so a path like
 * `$..*..*..*` is refused when the rule is saved.
 */
export const MAX_RECURSIVE_DESCENTS = 2;

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

const INTEGER = /^-?\d+$/;
const SLICE = /^(-?\d*):(-?\d*)(?::(\d*))?$/;

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && (t[0] === "'" || t[0] === '"') && t.at(-1) === t[0] ? t.slice(1, -1) : t.replace(/^['"]|['"]$/g, '');
}

function toSegment(raw: string): Segment {
  if (raw === '..') return { kind: 'descend' };
  if (raw === '*') return { kind: 'wildcard' };
  if (raw === '^' || raw === '~' || raw.startsWith('@') || raw === '$') throw new Error(`"${raw}" is not supported`);
  const slice = SLICE.exec(raw);
  if (slice) {
    const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
    return { kind: 'slice', start: num(slice[1]), end: num(slice[2]), step: num(slice[3]) ?? 1 };
  }
  if (raw.includes(',')) return { kind: 'union', parts: raw.split(',').map((p) => toSegment(unquote(p))) };
  if (INTEGER.test(raw)) return { kind: 'index', index: Number(raw) };
  return { kind: 'name', name: raw };
}

/** The path's segments, or an error message. */
function parsePath(path: string): Segment[] {
  const parts = JSONPath.toPathArray(path) as string[];
  if (parts[0] !== '$') throw new Error('must start with "$"');
  return parts.slice(1).map(toSegment);
}

/**
 * Validates a JSONPath when the rule is saved and returns a query that never
 * evaluates script and stays within the budget it is given.
 */
export function compileJsonPath(path: string, field: string): JsonPathQuery {
  const problem = findSyntaxProblem(path);
  if (problem) throw new RuleValidationError(field, `invalid JSONPath: ${problem}`);
  let segments: Segment[];
  try {
    segments = parsePath(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RuleValidationError(field, `invalid JSONPath: ${reason}`);
  }
  const descents = segments.filter((s) => s.kind === 'descend').length;
  if (descents > MAX_RECURSIVE_DESCENTS) {
    throw new RuleValidationError(field, `invalid JSONPath: at most ${MAX_RECURSIVE_DESCENTS} recursive-descent ("..") segments are allowed`);
  }
  return (document, budget) => (document === undefined ? [] : evaluatePath(segments, document, budget));
}

export { BudgetExhausted };
