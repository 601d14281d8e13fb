import { connection } from '../api/live.ts';

const TEXT = { connecting: 'Connecting…', connected: 'Live', disconnected: 'Disconnected, reconnecting…' } as const;

/** The WebSocket's state; role=status announces a drop to screen readers too. */
export function ConnectionIndicator() {
  const state = connection.value;
  return (
    <span class={`conn conn-${state}`} role="status" data-state={state}>
      <span class="conn-dot" aria-hidden="true" />
      {TEXT[state]}
    </span>
  );
}
