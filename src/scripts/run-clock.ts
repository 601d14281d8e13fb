// When a script run is over its time limit. QuickJS calls the interrupt
// handler every ~10,000 interpreter steps (calls, loop turns), on a counter
// that carries over between runs, and the host helpers ask before they work
// (a helper call is one step however long it takes). The wall clock alone
// would stop short scripts that a busy host merely descheduled past the limit
// (seen on a shared 2-core machine: 500s under 200 concurrent requests), so
// past the limit a run is stopped only on evidence that it is really running:
// the interpreter checked it twice since it became late and it is past twice
// the limit (a loop: stopped at about twice the limit, however busy the
// host), or it used half the limit in process CPU time since it became late
// (a long regex or helper calls, which check rarely), or, whatever else,
// past ten times the limit (at least 250 ms). A run that ends in time reads
// no clock but performance.now().

const WALL_CAP_FACTOR = 10;
const MIN_WALL_CAP_MS = 250;

export class RunClock {
  private startedAt = 0;
  private limitMs = 0;
  private lateChecks = 0;
  private cpuWhenLate: NodeJS.CpuUsage | null = null;

  start(now: number, limitMs: number): void {
    this.startedAt = now;
    this.limitMs = limitMs;
    this.lateChecks = 0;
    this.cpuWhenLate = null;
  }

  /** The interrupt handler: true stops the run with QuickJS's uncatchable interrupt. */
  interrupt(): boolean {
    const wall = performance.now() - this.startedAt;
    if (wall <= this.limitMs) return false;
    if (++this.lateChecks >= 2 && wall > 2 * this.limitMs) return true;
    return this.overdueAt(wall);
  }

  /** Asked by the host helpers before they work: true makes them refuse (see sandbox-globals.ts). */
  overdue(): boolean {
    const wall = performance.now() - this.startedAt;
    return wall > this.limitMs && this.overdueAt(wall);
  }

  private overdueAt(wall: number): boolean {
    if (wall > Math.max(this.limitMs * WALL_CAP_FACTOR, MIN_WALL_CAP_MS)) return true;
    if (this.cpuWhenLate === null) {
      this.cpuWhenLate = process.cpuUsage();
      return false;
    }
    const used = process.cpuUsage(this.cpuWhenLate);
    return (used.user + used.system) / 1000 >= this.limitMs / 2;
  }
}
