// How long the event loop was blocked, for the fuzz suite. monitorEventLoopDelay
// measures how late its timer ran; on a machine busier than its cores that
// also counts the time the process waited for a CPU, which is not the gateway
// blocking. So a second measure is kept: for every gap between 5 ms ticks, the
// CPU time the main thread used in it (a gap spent computing costs as much CPU
// as wall time; a gap spent descheduled costs none). Only the main thread's:
// the request-log writer's worker and GC helper threads compute on the other
// core meanwhile, and counting them (process.cpuUsage) once turned a 60 ms wait
// for a CPU into a "60 ms block". Linux gives a thread's CPU time in ns in
// /proc/<pid>/task/<tid>/schedstat (the main thread's tid is the pid); where
// it cannot be read, the whole process's CPU time is the (looser) bound.
// The smaller of the two measures bounds the time this process held the loop.
import { readFileSync } from 'node:fs';
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

const MAIN_THREAD_STAT = `/proc/${process.pid}/task/${process.pid}/schedstat`;

function readMainThreadCpuMs(): number {
  return Number(readFileSync(MAIN_THREAD_STAT, 'utf8').split(' ', 1)[0]) / 1e6;
}

/** The whole process's CPU time in ms (every thread). */
export function readProcessCpuMs(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000;
}

/** The main thread's CPU time in ms, or the process's where Linux's per-thread figure is missing. */
const cpuMs: () => number = (() => {
  try {
    return Number.isFinite(readMainThreadCpuMs()) ? readMainThreadCpuMs : readProcessCpuMs;
  } catch {
    return readProcessCpuMs;
  }
})();

export function watchEventLoop(): { stop(): LoopReport } {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let last = performance.now();
  let lastCpu = cpuMs();
  let maxBlockedMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = cpuMs();
    const gap = now - last - TICK_MS;
    maxBlockedMs = Math.max(maxBlockedMs, Math.min(gap, cpu - lastCpu));
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
