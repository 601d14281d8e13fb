// `${VAR}` references in a config file's strings, resolved from the
// environment when the file is read and never written anywhere. `$${` is a
// literal `${`. A reference to an unset variable is an error naming the field.

const REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface MissingVariable {
  path: Array<string | number>;
  variable: string;
}

function expandString(text: string, env: NodeJS.ProcessEnv, path: Array<string | number>, missing: MissingVariable[]): string {
  return text.replace(REF, (match, name: string | undefined) => {
    if (name === undefined) return '${';
    const value = env[name];
    if (value === undefined) {
      missing.push({ path, variable: name });
      return '';
    }
    return value;
  });
}

/** A copy of `value` with every string's references replaced; unset variables are listed, not thrown. */
export function expandEnvRefs(value: unknown, env: NodeJS.ProcessEnv, missing: MissingVariable[], path: Array<string | number> = []): unknown {
  if (typeof value === 'string') return expandString(value, env, path, missing);
  if (Array.isArray(value)) return value.map((item, i) => expandEnvRefs(item, env, missing, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnvRefs(v, env, missing, [...path, k])]));
  }
  return value;
}
