// How long the event loop was blocked, for the fuzz suite. monitorEventLoopDelay
// measures how late its timer ran; on a machine busier than its cores that
// also counts the time the process waited for a CPU, which is not the gateway
// blocking. So a second measure is kept: for every gap between 5 ms ticks, the
// CPU time the process used in it (a gap spent computing costs as much CPU as
// wall time; a gap spent descheduled costs none). The smaller of the two
// bounds the time this process itself held the loop.
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const TICK_MS = 5;
const RESOLUTION_MS = 10;

export interface LoopReport {
  /** monitorEventLoopDelay's worst delay past its resolution. */
  maxDelayMs: number;
  p99DelayMs: number;
  /** Worst gap between ticks counted only up to the CPU time used in it. */
  maxBlockedMs: number;
  /** The machine had more runnable work than cores (1-minute load average). */
  overloaded: boolean;
}

export function watchEventLoop(): { stop(): LoopReport } {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let maxBlockedMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const gap = now - last - TICK_MS;
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    maxBlockedMs = Math.max(maxBlockedMs, Math.min(gap, cpuMs));
    last = now;
    lastCpu = cpu;
  }, TICK_MS);
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
      return {
        maxDelayMs: Math.max(0, histogram.max / 1e6 - RESOLUTION_MS),
        p99DelayMs: Math.max(0, histogram.percentile(99) / 1e6 - RESOLUTION_MS),
        maxBlockedMs,
        overloaded: loadavg()[0] > cpus().length,
      };
    },
  };
}
