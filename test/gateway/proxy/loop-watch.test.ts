// The fuzz suite's event-loop watch, now counting only the main thread's CPU
// time, must still see a real block.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { watchEventLoop } from './loop-watch.ts';

/** Holds the loop for `ms` of CPU time (wall time would be less CPU on a busy machine). */
function spin(ms: number): void {
  const start = process.cpuUsage();
  const used = () => {
    const now = process.cpuUsage(start);
    return (now.user + now.system) / 1000;
  };
  while (used() < ms);
}

describe('watchEventLoop', () => {
  it('reports an 80 ms block of the main thread', async () => {
    const loop = watchEventLoop();
    await sleep(30);
    spin(80);
    await sleep(30);
    expect(loop.stop().maxBlockedMs).toBeGreaterThan(70);
  });
});
