// Commands that work on the database or a file directly, with no gateway running.

import { stringify } from 'yaml';
import { resetAdminToken } from '../../auth/admin-auth.ts';
import { loadConfig } from '../../config.ts';
import { ConfigFileError, loadConfigFile } from '../../config-file/load-config-file.ts';
import { migrateDatabase, openDatabase } from '../../db/client.ts';
import { CliError, type Remote } from '../remote.ts';

export async function migrate(): Promise<number> {
  const applied = await migrateDatabase(loadConfig().database);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
  return 0;
}

/** Validates a config file as the start would (environment references resolved), without a database. */
export function configCheck(file: string, allowUnset = false): number {
  // Where the secrets are not at hand (CI), unset references can stand in as placeholders.
  const env = allowUnset ? new Proxy(process.env, { get: (vars, name) => (typeof name === 'string' ? (vars[name] ?? `unset-${name}`) : undefined) }) : process.env;
  try {
    const loaded = loadConfigFile(file, env);
    const d = loaded.document;
    process.stdout.write(`${file} is valid: ${d.upstreams.length} upstreams, ${d.rules.length} rules, ${d.accessTokens.length} access tokens, ${loaded.keys.length} keys\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigFileError) throw new CliError(error.message);
    throw error;
  }
}

/** Through the running instance, so it reads what that instance serves, on any database it uses. */
export async function configExport(remote: Remote, format: string | undefined): Promise<number> {
  if (format !== undefined && format !== 'json' && format !== 'yaml') throw new CliError('--format must be yaml or json', 2);
  const { exportConfig } = await remote.request<{ exportConfig: Record<string, unknown> }>('mutation CliExportConfig { exportConfig }');
  const out = format === 'json' ? `${JSON.stringify(exportConfig, null, 2)}\n` : stringify(exportConfig);
  process.stdout.write(out);
  return 0;
}

export async function adminTokenReset(): Promise<number> {
  const config = loadConfig();
  await migrateDatabase(config.database);
  const db = await openDatabase(config.database);
  try {
    const token = await resetAdminToken(db.prisma);
    process.stderr.write('keyrelay: new admin token (shown once; only its hash is stored). It works from the next start of the gateway.\n');
    if (config.KEYRELAY_ADMIN_TOKEN) process.stderr.write('keyrelay: KEYRELAY_ADMIN_TOKEN is set, and a gateway started with it uses that token instead: unset it to use this one.\n');
    process.stdout.write(`${token}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
