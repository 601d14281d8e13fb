import type { RuleCondition } from '../state/types.ts';

// Statuses that say something about the key or the upstream rather than the
// client's request: auth failures, timeouts and rate limits.
const KEY_RELATED_4XX = new Set([401, 403, 408, 429]);

/**
 * A 4xx caused by the client's own request (bad JSON, unknown model, body too
 * large, ...). Punishing the key for these would let one bad client take the
 * whole pool down, so broad rules skip them.
 */
export function isClientError(status: number): boolean {
  return status >= 400 && status < 500 && !KEY_RELATED_4XX.has(status);
}

/**
 * True when a `status` leaf names `status` on purpose: via equals/in, or a
 * min..max range capped below 500 that contains it. Leaves under an odd number
 * of `not`s exclude the status rather than target it, so they do not count.
 */
export function explicitlyTargetsStatus(condition: RuleCondition, status: number): boolean {
  const visit = (node: RuleCondition, negated: boolean): boolean => {
    if ('all' in node) return node.all.some((child) => visit(child, negated));
    if ('any' in node) return node.any.some((child) => visit(child, negated));
    if ('not' in node) return visit(node.not, !negated);
    if (!('status' in node) || negated) return false;
    const { equals, min, max } = node.status;
    if (equals === status || node.status.in?.includes(status)) return true;
    return max !== undefined && max < 500 && status <= max && (min === undefined || status >= min);
  };
  return visit(condition, false);
}
