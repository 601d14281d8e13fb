import type { PrismaClient } from '../generated/prisma/client.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import type { SqlDriver } from '../db/sql-driver.ts';
import type { EventBus } from '../events/bus.ts';
import type { KeyLifecycle } from '../keys/lifecycle.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { Commit } from './commit.ts';

/** What the admin services need; passed in so tests can build them over a temp database. */
export interface AdminDeps {
  prisma: PrismaClient;
  /** Raw SQL on Prisma's own connection (SQLite) or pool (PostgreSQL): aggregates and bulk reads. */
  sql: SqlDriver;
  state: GatewayState;
  events: EventBus;
  cipher: SecretCipher;
  lifecycle: KeyLifecycle;
  log: Logger;
  /** Reloads what a stored admin write touched and publishes `config:changed` (createCommit). */
  commit: Commit;
  /** The setting EMAIL notification channels lack (KEYRELAY_SMTP_URL or KEYRELAY_SMTP_FROM), or null when SMTP is configured: importConfig checks channels as createNotificationChannel does. */
  smtpMissing: string | null;
  /** The proxy's in-memory usage counts; a quota reset discards quota charged but not stored yet. */
  usage?: { discardQuota(keyId: string): void };
}
