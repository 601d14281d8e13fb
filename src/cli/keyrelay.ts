#!/usr/bin/env node
// The keyrelay command line: serve and migrate; offline tools on the database
// or a config file; and commands that work through a running instance's GraphQL API.

import { parseArgs } from 'node:util';
import { ConfigError } from '../config.ts';
import { importKeys } from './commands/keys-import.ts';
import { adminTokenReset, configCheck, configExport, migrate } from './commands/offline.ts';
import { serve } from './commands/serve.ts';
import { createToken } from './commands/tokens-create.ts';
import { CliError, connect } from './remote.ts';

const HELP = `keyrelay: an API key-pool gateway

Usage: keyrelay <command> [options]

Commands:
  serve                          Start the gateway (settings from the environment; see the README)
  migrate                        Apply pending database migrations to DATABASE_URL
  config check <file>            Validate a config file offline (YAML or JSON; \${VAR} references resolved;
                                 --allow-unset lets unset variables pass, for checks without the secrets)
  config export                  Print the running instance's configuration (--format yaml|json, default yaml)
  admin-token reset              Offline: store a new admin token for the next start and print it once
  keys import <upstream> <file>  Import keys into an upstream of the running instance, with progress
                                 (--format lines|csv|json, by default from the file's extension; --batch 1000)
  tokens create <name>           Create a client access token and print it once (--upstream a,b to limit it)

Commands that talk to a running instance use KEYRELAY_URL and KEYRELAY_ADMIN_TOKEN (or --url, --token).
Offline commands use DATABASE_URL / KEYRELAY_DATA_DIR as the gateway does.

Options:
  -h, --help                     Show this help
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  token: { type: 'string' },
  format: { type: 'string' },
  batch: { type: 'string' },
  upstream: { type: 'string', multiple: true },
  'allow-unset': { type: 'boolean' },
} as const;

function expect(args: string[], count: number, usage: string): void {
  if (args.length !== count) throw new CliError(`usage: keyrelay ${usage}`, 2);
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, sub, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  const remote = () => connect({ url: values.url, token: values.token });
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'serve':
      return serve();
    case 'migrate':
      return migrate();
    case 'config check':
      expect(rest, 1, 'config check <file> [--allow-unset]');
      return configCheck(rest[0]!, values['allow-unset'] === true);
    case 'config export':
      expect(rest, 0, 'config export [--format yaml|json]');
      return configExport(remote(), values.format);
    case 'admin-token reset':
      expect(rest, 0, 'admin-token reset');
      return adminTokenReset();
    case 'keys import':
      expect(rest, 2, 'keys import <upstream> <file> [--format lines|csv|json] [--batch N]');
      return importKeys(remote(), rest[0]!, rest[1]!, values);
    case 'tokens create':
      expect(rest, 1, 'tokens create <name> [--upstream a,b]');
      return createToken(remote(), rest[0]!, (values.upstream ?? []).flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean));
    default:
      throw new CliError(`unknown command "${positionals.join(' ')}"; see keyrelay --help`, 2);
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  const known = error instanceof CliError || error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`keyrelay: ${known ? (error as Error).message : (error as Error).stack}\n`);
  process.exitCode = error instanceof CliError ? error.exitCode : known ? 2 : 1;
}
