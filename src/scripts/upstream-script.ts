// Builds an upstream's header script when the upstream is loaded into the
// in-memory state (boot and every reload), so requests find it compiled. A
// stored script that cannot be built now (its secrets unreadable, no engine)
// still fails closed at request time: the upstream never gets a request
// without the headers its admin asked for.

import type { SecretCipher } from '../crypto/cipher.ts';
import type { Upstream } from '../generated/prisma/client.ts';
import type { ScriptEngine } from './engine.ts';
import { HeaderScript, type HeaderScriptOptions, type UpstreamScript } from './header-script.ts';
import { ScriptError } from './script-error.ts';
import { readScriptSecrets } from './script-secrets.ts';

class UnavailableScript implements UpstreamScript {
  constructor(readonly opts: HeaderScriptOptions, private readonly reason: string) {}
  get upstream(): string {
    return this.opts.upstream;
  }
  run(): never {
    throw new ScriptError('compile', this.reason);
  }
  dispose(): void {}
}

export function buildUpstreamScript(row: Upstream, cipher: SecretCipher, engine: ScriptEngine | null): UpstreamScript | null {
  if (row.headerScript === null) return null;
  let secrets: Record<string, string>;
  try {
    secrets = readScriptSecrets(row.scriptSecrets, cipher);
  } catch {
    return new UnavailableScript({ upstream: row.name, secrets: {}, canReadKey: false }, 'the script secrets cannot be decrypted');
  }
  const opts: HeaderScriptOptions = { upstream: row.name, secrets, canReadKey: row.scriptCanReadKey };
  if (engine === null) return new UnavailableScript(opts, 'header scripts are not available');
  return new HeaderScript(engine, row.headerScript, opts, false);
}
