// One write per WebSocket per burst of subscription events instead of one per
// event. The log writer publishes a stored batch in one go, so each subscriber
// sends dozens of messages within one run of the microtask queue; each
// WebSocket message is its own socket write (writev: a fifth of the main
// thread's time with 50 live subscribers at 1,000 req/s). Corking the socket
// at the first send of a burst and uncorking on the next tick (after the
// microtask queue has drained) hands the kernel the burst at once. Reaches
// crossws' Node peer internals (the `ws` WebSocket and its net.Socket): where
// they are not there, sends go out one by one as before.

interface CorkableSocket {
  cork(): void;
  uncork(): void;
}

interface NodePeer {
  send(data: unknown, options?: unknown): unknown;
  _internal?: { ws?: { _socket?: Partial<CorkableSocket> } };
}

export function corkBursts(peer: NodePeer): void {
  const socket = peer._internal?.ws?._socket;
  if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return;
  const corkable = socket as CorkableSocket;
  const send = peer.send.bind(peer);
  let corked = false;
  const uncork = () => {
    corked = false;
    corkable.uncork();
  };
  peer.send = (data, options) => {
    if (!corked) {
      corked = true;
      corkable.cork();
      process.nextTick(uncork);
    }
    return send(data, options);
  };
}
