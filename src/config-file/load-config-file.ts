// Reads KEYRELAY_CONFIG (YAML, or JSON, which YAML reads too), resolves its
// environment references and validates all of it, so a broken file stops the
// start (or `keyrelay config check`) with each line and field at fault.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configDocumentSchema, ruleFromDoc, type ConfigDocument } from '../admin/config-document.ts';
import { checkRule, RULE_DEFAULTS } from '../admin/rules.ts';
import { UserInputError } from '../errors.ts';
import { checkAsWritten, hashGivenTokens, keyDocsSchema, type KeyDoc, type Problem } from './config-file-schema.ts';
import { expandEnvRefs } from './env-refs.ts';

export interface LoadedConfigFile {
  file: string;
  document: ConfigDocument;
  keys: KeyDoc[];
  /** `file:line:column field: message` for a problem found later (applying it). */
  describe(path: Array<string | number>, message: string): string;
}

export class ConfigFileError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file} is not a valid keyrelay config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
  }
}

const zodProblems = (error: z.ZodError, prefix: Array<string | number> = []): Problem[] =>
  error.issues.map((issue) => ({ path: [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message }));

function locator(file: string, doc: Document, lines: LineCounter) {
  return (path: Array<string | number>, message: string): string => {
    // The deepest node the path reaches: a missing field points at the object that lacks it.
    let node: unknown;
    for (let depth = path.length; depth >= 0 && node === undefined; depth--) node = doc.getIn(path.slice(0, depth), true);
    const offset = (node as { range?: [number] } | undefined)?.range?.[0];
    const where = offset === undefined ? file : `${file}:${lines.linePos(offset).line}:${lines.linePos(offset).col}`;
    return `${where} ${path.join('.') || '(document)'}: ${message}`;
  };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, [`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigFileError(file, doc.errors.map((e) => {
      const at = lines.linePos(Math.min(e.pos[0], text.length));
      return `${file}:${at.line}:${at.col} ${e.message.split('\n')[0]}`;
    }));
  }
  const describe = locator(file, doc, lines);
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigFileError(file, [describe([], 'must be a mapping with version, upstreams, rules, accessTokens and keys')]);

  const problems = checkAsWritten(raw as Record<string, unknown>);
  const missing: Array<{ path: Array<string | number>; variable: string }> = [];
  const expanded = expandEnvRefs(raw, env, missing) as Record<string, unknown>;
  for (const m of missing) problems.push({ path: m.path, message: `environment variable ${m.variable} is not set` });
  hashGivenTokens(expanded);
  const { keys: rawKeys, ...rest } = expanded;

  const parsedDoc = configDocumentSchema.safeParse(rest);
  if (!parsedDoc.success) problems.push(...zodProblems(parsedDoc.error));
  const parsedKeys = keyDocsSchema.safeParse(rawKeys ?? []);
  if (!parsedKeys.success) problems.push(...zodProblems(parsedKeys.error, ['keys']));
  if (parsedDoc.success) {
    parsedDoc.data.rules.forEach((r, i) => {
      try {
        checkRule(ruleFromDoc(r, RULE_DEFAULTS, null), `rules.${i}`);
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        problems.push({ path: (error.field ?? `rules.${i}`).split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)), message: error.message.replace(/^[^:]*: /, '') });
      }
    });
  }
  if (problems.length || !parsedDoc.success || !parsedKeys.success) {
    // An unset variable leaves an empty string behind: its own message says enough.
    const unset = new Set(missing.map((m) => m.path.join('.')));
    const kept = problems.filter((p) => !unset.has(p.path.join('.')) || p.message.startsWith('environment variable'));
    const lineOf = (text: string) => Number(/^[^ ]*:(\d+):/.exec(text)?.[1] ?? 0);
    throw new ConfigFileError(file, kept.map((p) => describe(p.path, p.message)).sort((a, b) => lineOf(a) - lineOf(b)));
  }
  return { file, document: parsedDoc.data, keys: parsedKeys.data, describe };
}
