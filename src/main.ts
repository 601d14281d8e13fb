import { ConfigError, loadConfig, type Config } from './config.ts';
import { WrongMasterKeyError } from './crypto/master-key-check.ts';
import { InstanceConflictError } from './instance/lease.ts';
import { createLogger } from './logger.ts';
import { startGateway, type Gateway } from './gateway.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`keyrelay: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const log = createLogger(config.LOG_LEVEL);
let gateway: Gateway;
try {
  gateway = await startGateway(config, log);
} catch (error) {
  if (error instanceof WrongMasterKeyError || error instanceof InstanceConflictError) {
    log.fatal(error.message);
    process.stderr.write(`keyrelay: ${error.message}\n`);
    process.exit(3);
  }
  log.fatal({ err: error }, 'start failed');
  process.exit(1);
}

if (gateway.generatedAdminToken) {
  // Printed once, on the first start, outside the structured log; only its hash is stored.
  process.stdout.write(
    `\n  keyrelay admin token (shown once; store it now, or set KEYRELAY_ADMIN_TOKEN):\n\n    ${gateway.generatedAdminToken}\n\n`,
  );
}
log.info({ url: gateway.url, graphql: `${gateway.url}/graphql` }, 'keyrelay is serving');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const timer = setTimeout(() => {
    log.error('shutdown timed out; exiting');
    process.exit(1);
  }, config.KEYRELAY_SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    // Leave time after the drain for the last log batch and the database to close.
    await gateway.close({ drainMs: Math.max(0, config.KEYRELAY_SHUTDOWN_TIMEOUT_MS - 3000) });
    log.info('stopped');
    process.exit(0);
  } catch (error) {
    log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
