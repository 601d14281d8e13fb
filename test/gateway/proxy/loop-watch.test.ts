// The fuzz suite's event-loop watch counts only the main thread's CPU time; it
// must still see a real block of that thread.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readProcessCpuMs, watchEventLoop } from './loop-watch.ts';

/** Holds the loop for `ms` of CPU time (wall time would be less CPU on a busy machine). */
function spin(ms: number): void {
  const start = readProcessCpuMs();
  while (readProcessCpuMs() - start < ms);
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
