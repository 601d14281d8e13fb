// Bounds on what one response may cost the rule engine. The body comes from
// the upstream, so its shape is not ours to trust: a body nested deeper than
// MAX_BODY_DEPTH is not parsed for rules at all, and each JSONPath condition
// gets a budget of node visits per evaluation, past which it counts as not
// matching. Both are counted (and the first of each logged) by the runtime.

/** Nesting levels (objects and arrays) a body may have to be parsed for rules. */
export const MAX_BODY_DEPTH = 64;
/** Nodes one JSONPath condition may visit on one response (all its documents together). */
export const NODE_BUDGET = 10_000;

export interface EvalBounds {
  readonly maxDepth: number;
  readonly nodeBudget: number;
  /** A body (or an event's payload) was too deep to parse for rules. */
  onTooDeep(): void;
  /** A JSONPath condition ran out of its node budget and counted as not matching. */
  onBudgetExhausted(): void;
}

export const DEFAULT_BOUNDS: EvalBounds = { maxDepth: MAX_BODY_DEPTH, nodeBudget: NODE_BUDGET, onTooDeep() {}, onBudgetExhausted() {} };

/** Counters the runtime keeps and the metrics read. */
export interface EvalBoundsStats {
  tooDeep: number;
  budgetExhausted: number;
}

/**
 * True when the JSON text nests deeper than `max`: one pass over the
 * characters, brackets inside strings skipped, so a hostile body is judged
 * before JSON.parse builds it.
 */
export function jsonTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return false;
}

/** JSON.parse within the depth bound; undefined when not JSON or too deep (reported). */
export function parseBounded(text: string, bounds: EvalBounds): { ok: true; value: unknown } | { ok: false } {
  if (jsonTooDeep(text, bounds.maxDepth)) {
    bounds.onTooDeep();
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
