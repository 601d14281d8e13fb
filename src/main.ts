import { ConfigError, loadConfig, type Config } from './config.ts';
import { WrongMasterKeyError } from './crypto/master-key-check.ts';
import { ConfigFileError } from './config-file/load-config-file.ts';
import { InstanceConflictError } from './instance/lease.ts';
import { createLogger } from './logger.ts';
import { startGateway, type Gateway } from './gateway.ts';
import { explainStartupError } from './startup-errors.ts';
import { adminTokenNotice } from './auth/admin-token-notice.ts';
import cluster from 'node:cluster';
import { superviseWorkers, WORKER_SERVING } from './cluster/supervisor.ts';

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
// KEYRELAY_INSTANCES > 1: this process only starts and watches the instances (node:cluster workers running the code below).
if (config.KEYRELAY_INSTANCES > 1 && cluster.isPrimary) await superviseWorkers({ asked: config.KEYRELAY_INSTANCES, log, shutdownTimeoutMs: config.KEYRELAY_SHUTDOWN_TIMEOUT_MS });
else await serve();

async function serve() {
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, log);
  } catch (error) {
    if (error instanceof ConfigFileError) {
      log.fatal({ file: error.file, problems: error.problems }, 'the config file is not valid');
      process.stderr.write(`keyrelay: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof WrongMasterKeyError || error instanceof InstanceConflictError) {
      log.fatal(error.message);
      process.stderr.write(`keyrelay: ${error.message}\n`);
      process.exit(3);
    }
    const line = explainStartupError(error, config);
    if (line !== null) {
      // A known cause: one line to act on, the details only at debug level.
      log.debug({ err: error }, 'start failed');
      process.stderr.write(`keyrelay: ${line}\n`);
      process.exit(1);
    }
    log.fatal({ err: error }, 'start failed');
    process.stderr.write(`keyrelay: start failed unexpectedly: ${error instanceof Error ? error.message.split('\n')[0] : String(error)} (details in the log line above)\n`);
    process.exit(1);
  }

  // Outside the structured log: the token itself must never reach a log line. Of several instances, the first says it (a generated one is always shown).
  if (gateway.generatedAdminToken !== null || !cluster.isWorker || cluster.worker?.id === 1) {
    process.stdout.write(adminTokenNotice(gateway.generatedAdminToken, config.KEYRELAY_ADMIN_TOKEN !== undefined));
  }
  log.info({ url: gateway.url, graphql: `${gateway.url}/graphql`, ...(cluster.isWorker ? { pid: process.pid } : {}) }, 'keyrelay is serving');
  if (cluster.isWorker) {
    process.send?.({ type: WORKER_SERVING });
    // The primary is gone (killed): no new connections come; drain and go.
    process.on('disconnect', () => void shutdown('primary gone'));
  }

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
}
