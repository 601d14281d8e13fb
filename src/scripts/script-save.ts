// The admin side of saving an upstream with a header script: the script, its
// secrets and scriptCanReadKey as they will be stored (given or kept), checked
// together before anything is written, and the secrets' column value.

import type { SecretCipher } from '../crypto/cipher.ts';
import type { Upstream } from '../generated/prisma/client.ts';
import type { ScriptEngine } from './engine.ts';
import { assertScriptWorks } from './script-check.ts';
import { readScriptSecrets, storeScriptSecrets, type ScriptSecrets } from './script-secrets.ts';

export interface ScriptInput {
  name?: string;
  headerScript?: string | null;
  scriptSecrets?: ScriptSecrets | null;
  scriptCanReadKey?: boolean;
}

/**
 * Throws BAD_USER_INPUT on `<prefix>.headerScript` when the script to be stored
 * would fail. Runs only when something the script depends on is given.
 */
export function checkScriptToSave(engine: ScriptEngine | null, cipher: SecretCipher, input: ScriptInput, existing: Upstream | null, prefix = 'input'): void {
  const touched = input.headerScript !== undefined || input.scriptSecrets !== undefined || input.scriptCanReadKey !== undefined;
  const source = input.headerScript !== undefined ? input.headerScript : (existing?.headerScript ?? null);
  if (!touched || source === null) return;
  const secrets = input.scriptSecrets !== undefined ? (input.scriptSecrets ?? {}) : readScriptSecrets(existing?.scriptSecrets ?? null, cipher);
  const canReadKey = input.scriptCanReadKey ?? existing?.scriptCanReadKey ?? false;
  assertScriptWorks(engine, source, { upstream: input.name ?? existing?.name ?? 'upstream', secrets, canReadKey }, `${prefix}.headerScript`);
}

/** `{ scriptSecrets }` for a Prisma write when given; `{}` keeps what is stored. */
export function scriptSecretsColumn(input: ScriptInput, cipher: SecretCipher): { scriptSecrets?: string | null } {
  return input.scriptSecrets === undefined ? {} : { scriptSecrets: storeScriptSecrets(input.scriptSecrets, cipher) };
}
