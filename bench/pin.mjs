// Pinning for the benchmark (issue: "a benchmark that gives the same verdict
// twice"): on a shared 2-core machine the load generator, the mock and the
// subject fight for the same cores and the same build measured 58% to 97%.
// The load generator runs on CPU 0, the subject and the mock on CPU 1, and
// every subject takes its turn under exactly the same pinning.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export const LOAD_CPU = 0;
export const SUBJECT_CPU = 1;

function detect() {
  if (cpus().length < 2) return { enabled: false, notice: 'fewer than 2 cores: processes are not pinned, so figures carry the cores\' contention' };
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return { enabled: false, notice: 'taskset (util-linux) not found: processes are not pinned' };
  }
  return { enabled: true, notice: `load generator on CPU ${LOAD_CPU}; subject and mock upstream on CPU ${SUBJECT_CPU}` };
}

export const pinning = detect();

/** Pins every thread of `pid` to `cpu` (threads it starts later inherit the mask). */
export function pin(pid, cpu) {
  if (!pinning.enabled) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}
