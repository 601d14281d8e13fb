import type { ApiKeyState } from '../state/types.ts';

interface Probation {
  /** When the subject is due back (epoch ms). */
  returnAt: number;
  /** How long the last disable lasted: the subject must stay healthy this long to be forgiven. */
  durationMs: number;
}

/**
 * How many times rules disabled a key (or a key for one model) since it was
 * last healthy, which drives escalation (base × (count + 1), capped).
 *
 * Key scope uses the key's persisted `disableCount` (the lifecycle stores it
 * with every state change). Key-and-model scope has no column, so its counts
 * live in memory and start over after a restart.
 *
 * Reset: a success served after the subject has been back for at least as
 * long as its last disable lasted (Envoy only lowers its ejection multiplier
 * while a host stays healthy). A key that fails again right after returning
 * keeps escalating; one success straight after the return does not wipe the
 * history. An admin setting the key ACTIVE also resets it (in the lifecycle).
 * Without a recorded probation (after a restart) the first success resets.
 */
export class EscalationBook {
  private readonly probation = new Map<string, Probation>();
  private readonly modelCounts = new Map<string, number>();

  /** Disables so far for `subject` (`keyId` or `keyId|model`). */
  previous(key: ApiKeyState, model: string | null): number {
    return model === null ? key.disableCount : (this.modelCounts.get(subjectOf(key.id, model)) ?? 0);
  }

  /**
   * Counts one more disable. For key scope it returns the key's new count,
   * which the lifecycle applies and stores with the change (null for a model).
   */
  recordDisable(key: ApiKeyState, model: string | null, returnAt: number | null, now: number): number | null {
    const subject = subjectOf(key.id, model);
    const count = model === null ? key.disableCount + 1 : null;
    if (model !== null) this.modelCounts.set(subject, (this.modelCounts.get(subject) ?? 0) + 1);
    if (returnAt === null) this.probation.delete(subject);
    else this.probation.set(subject, { returnAt, durationMs: Math.max(0, returnAt - now) });
    return count;
  }

  /**
   * A success on `key` (for `model`). Returns true when the key-scope count
   * should be reset (the caller persists that through the lifecycle).
   */
  noteSuccess(key: ApiKeyState, model: string | null, now: number): boolean {
    if (model !== null && this.modelCounts.size > 0) {
      const subject = subjectOf(key.id, model);
      if (this.modelCounts.has(subject) && this.forgiven(subject, now)) this.modelCounts.delete(subject);
    }
    return key.disableCount > 0 && this.forgiven(key.id, now);
  }

  forget(keyId: string): void {
    const prefix = `${keyId}|`;
    for (const map of [this.probation, this.modelCounts] as Map<string, unknown>[]) {
      for (const subject of map.keys()) if (subject === keyId || subject.startsWith(prefix)) map.delete(subject);
    }
  }

  private forgiven(subject: string, now: number): boolean {
    const p = this.probation.get(subject);
    if (p !== undefined && now < p.returnAt + p.durationMs) return false;
    this.probation.delete(subject);
    return true;
  }
}

export function subjectOf(keyId: string, model: string | null): string {
  return model === null ? keyId : `${keyId}|${model}`;
}
