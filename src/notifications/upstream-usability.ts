import type { GatewayState } from '../state/gateway-state.ts';

type Usability = 'never' | 'usable' | 'depleted';

/**
 * Whether each upstream has a usable (ACTIVE) key, from the in-memory key
 * states. Reports only real transitions: usable -> depleted and back. An
 * upstream that never had a usable key (just created, keys still to come)
 * is neither depleted nor recovered.
 */
export class UpstreamUsability {
  private readonly known = new Map<string, Usability>();

  constructor(private readonly state: GatewayState, private readonly changed: (upstreamId: string, usable: boolean) => void) {
    for (const id of state.upstreamsById.keys()) this.known.set(id, this.hasUsable(id) ? 'usable' : 'never');
  }

  private hasUsable(upstreamId: string): boolean {
    const runtime = this.state.upstreamsById.get(upstreamId);
    if (!runtime) return false;
    for (const key of runtime.keys.values()) if (key.status === 'ACTIVE') return true;
    return false;
  }

  check(upstreamId: string): void {
    if (!this.state.upstreamsById.has(upstreamId)) {
      this.known.delete(upstreamId);
      return;
    }
    const usable = this.hasUsable(upstreamId);
    const before = this.known.get(upstreamId) ?? 'never';
    if (usable && before !== 'usable') {
      this.known.set(upstreamId, 'usable');
      if (before === 'depleted') this.changed(upstreamId, true);
    } else if (!usable && before === 'usable') {
      this.known.set(upstreamId, 'depleted');
      this.changed(upstreamId, false);
    }
  }

  checkAll(): void {
    for (const id of [...this.known.keys(), ...this.state.upstreamsById.keys()]) this.check(id);
  }
}
