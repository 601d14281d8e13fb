import type { ApiKeyState } from './types.ts';

/**
 * Holds back a key that is at its rate limit (its own, or the provider's
 * reported budget) without changing its state: the key stays USABLE and is
 * skipped per pick, like a key cooling for a model.
 */
export interface KeyGate {
  /** Whether any key can be held back now: lets a pick skip asking. */
  readonly gatesKeys: boolean;
  /** Epoch ms when the key has room; <= now when it has room now. */
  keyRoomAt(key: ApiKeyState, now: number): number;
  /** A request was refused because every key was held back (counted for /metrics). */
  everyKeyLimited(): void;
}
