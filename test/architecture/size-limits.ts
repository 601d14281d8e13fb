import { parse } from '@babel/parser';
import type { SourceFile } from './source-files.ts';

export const MAX_FILE_LINES = 300;
export const MAX_FUNCTION_LINES = 80;
/** A comment with this marker, right above a function or at the top of a file, says why it is longer. */
export const LONG_MARKER = 'size: longer because';

export interface Oversize {
  path: string;
  what: string;
  lines: number;
}

interface Node {
  type: string;
  start: number;
  loc: { start: { line: number }; end: { line: number } };
  id?: { name?: string } | null;
  key?: { name?: string } | null;
  [key: string]: unknown;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassMethod', 'ObjectMethod', 'ClassPrivateMethod']);

/** Files over MAX_FILE_LINES and functions over MAX_FUNCTION_LINES that no LONG_MARKER comment explains. */
export function oversized(files: SourceFile[]): Oversize[] {
  const found: Oversize[] = [];
  for (const file of files) {
    const lines = file.text.split('\n').length;
    if (lines > MAX_FILE_LINES && !file.text.slice(0, 2000).includes(LONG_MARKER)) found.push({ path: file.path, what: 'file', lines });
    const ast = parse(file.text, { sourceType: 'module', plugins: ['typescript'] }) as unknown as Node;
    const visit = (node: unknown, parent: Node | null) => {
      if (Array.isArray(node)) return node.forEach((n) => visit(n, parent));
      if (!node || typeof node !== 'object' || typeof (node as Node).type !== 'string') return;
      const n = node as Node;
      if (FUNCTION_TYPES.has(n.type)) {
        const length = n.loc.end.line - n.loc.start.line + 1;
        // The comment may sit above the statement that holds the function (`export const f = () => ...`).
        const from = Math.min(n.start, parent?.start ?? n.start);
        if (length > MAX_FUNCTION_LINES && !file.text.slice(Math.max(0, from - 400), n.start).includes(LONG_MARKER)) {
          found.push({ path: file.path, what: n.id?.name ?? n.key?.name ?? `function at line ${n.loc.start.line}`, lines: length });
        }
      }
      for (const [key, value] of Object.entries(n)) if (key !== 'loc' && key !== 'leadingComments' && key !== 'trailingComments') visit(value, n);
    };
    visit(ast, null);
  }
  return found;
}
