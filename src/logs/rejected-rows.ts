// Request-log rows the database refused on their own (see row-isolation.ts):
// each is counted for the metric and named by its request id in a warning,
// at most LINES_PER_WINDOW lines per window so a flood of bad rows cannot
// flood the log too (the count still sees every one).

import type { Logger } from '../logger.ts';
import type { StoredChunk } from './log-protocol.ts';

const WINDOW_MS = 10_000;
const LINES_PER_WINDOW = 50;

export class RejectedRows {
  count = 0;
  private windowStart = 0;
  private lines = 0;

  constructor(private readonly log: Logger) {}

  report(rows: StoredChunk['rejected']): void {
    this.count += rows.length;
    const now = Date.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.lines = 0;
    }
    for (const r of rows) {
      if (this.lines++ >= LINES_PER_WINDOW) break;
      this.log.warn({ requestId: r.requestId, err: { message: r.message, code: r.code }, rejected: this.count }, 'request log row refused by the database; stored the rest of its batch without it');
    }
  }
}
