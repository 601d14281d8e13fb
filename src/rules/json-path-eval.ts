// A budgeted JSONPath evaluator over jsonpath-plus's parsed segments. The
// library's own evaluator has no bound: `$..*..*..*..*..*` against a body
// nested a few hundred levels ran for 55 s and then out of memory, and it
// builds a path array for every node it passes (cost grows with depth). Here
// each segment maps the current nodes to the next ones, every node produced
// spends one unit of the evaluation's budget, and an exhausted budget ends
// the evaluation as "no match" (counted by the caller).

/** One step of a path, as compiled when the rule is saved. */
export type Segment =
  | { kind: 'name'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'union'; parts: Segment[] }
  | { kind: 'slice'; start: number | null; end: number | null; step: number }
  | { kind: 'descend' };

export class BudgetExhausted extends Error {}

export interface Budget {
  left: number;
}

function spend(budget: Budget, n: number): void {
  budget.left -= n;
  if (budget.left < 0) throw new BudgetExhausted('JSONPath node budget exhausted');
}

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';

function children(node: unknown): unknown[] {
  if (Array.isArray(node)) return node;
  return isContainer(node) ? Object.values(node) : [];
}

function select(node: unknown, seg: Segment, out: unknown[]): void {
  if (!isContainer(node)) return;
  switch (seg.kind) {
    case 'name':
      if (Object.hasOwn(node, seg.name)) out.push((node as Record<string, unknown>)[seg.name]);
      return;
    case 'index': {
      if (!Array.isArray(node)) return select(node, { kind: 'name', name: String(seg.index) }, out);
      const i = seg.index < 0 ? node.length + seg.index : seg.index;
      if (i >= 0 && i < node.length) out.push(node[i]);
      return;
    }
    case 'wildcard':
      for (const child of children(node)) out.push(child);
      return;
    case 'union':
      for (const part of seg.parts) select(node, part, out);
      return;
    case 'slice': {
      if (!Array.isArray(node) || seg.step <= 0) return;
      const len = node.length;
      const norm = (v: number | null, dflt: number) => (v === null ? dflt : v < 0 ? Math.max(0, len + v) : Math.min(len, v));
      for (let i = norm(seg.start, 0); i < norm(seg.end, len); i += seg.step) out.push(node[i]);
      return;
    }
    case 'descend':
      return;
  }
}

/** The node and all its descendants, depth first (an explicit stack: no recursion on deep documents). */
function descendants(node: unknown, budget: Budget, out: unknown[]): void {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    spend(budget, 1);
    out.push(n);
    const kids = children(n);
    for (let i = kids.length - 1; i >= 0; i--) if (isContainer(kids[i])) stack.push(kids[i]);
  }
}

/** Every value the path selects from `document`; throws BudgetExhausted past the budget. */
export function evaluatePath(segments: readonly Segment[], document: unknown, budget: Budget): unknown[] {
  let nodes: unknown[] = [document];
  for (let s = 0; s < segments.length; s++) {
    let seg = segments[s];
    let from = nodes;
    if (seg.kind === 'descend') {
      from = [];
      for (const n of nodes) descendants(n, budget, from);
      seg = segments[++s] ?? { kind: 'wildcard' };
    }
    const next: unknown[] = [];
    for (const n of from) {
      const before = next.length;
      select(n, seg, next);
      spend(budget, next.length - before + 1);
    }
    nodes = next;
  }
  return nodes;
}
