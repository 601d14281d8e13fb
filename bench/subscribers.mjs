// A process holding N live requestLogged subscriptions over graphql-ws, for the
// scaling rows on dashboards: message { url, token, count } -> { ready } once
// every subscription is acknowledged, then { received } when told 'stop'.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

process.once('message', async ({ url, token, count }) => {
  let received = 0;
  const clients = [];
  const acks = [];
  for (let i = 0; i < count; i++) {
    const client = createClient({ url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    clients.push(client);
    acks.push(new Promise((resolve) => client.on('connected', resolve)));
    client.subscribe({ query: 'subscription { requestLogged { id path status latencyMs key { name } upstream { name } } }' }, {
      next: () => received++,
      error: (e) => console.error('subscriber error', e),
      complete: () => {},
    });
  }
  await Promise.all(acks);
  process.send({ ready: true });
  process.once('message', async () => {
    process.send({ received });
    await Promise.all(clients.map((c) => c.dispose()));
    process.exit(0);
  });
});
