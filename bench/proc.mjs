// What a process has used, read from /proc: the subject's whole cost (every
// thread: main, the request-log worker, libuv's pool) is the headline.
import { readFileSync } from 'node:fs';

const TICKS = 100;

/** CPU seconds (user + system) of a process, all its threads, so far. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** CPU seconds of the process's main (JavaScript) thread alone. */
export function mainThreadCpuSeconds(pid) {
  return cpuSeconds(`${pid}/task/${pid}`);
}

export function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** Samples RSS every `ms` until stopped; the largest value seen. */
export function sampleRss(pid, ms = 50) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {}
  }, ms);
  return () => {
    clearInterval(timer);
    return peak;
  };
}
