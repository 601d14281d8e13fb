import { signal } from '@preact/signals';
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../gql/graphql.ts';
import { adminToken, signOut } from '../auth.ts';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** What the connection indicator shows; `epoch` counts (re)connections so live views can refetch what they missed. */
export const connection = signal<ConnectionState>('connecting');
export const connectionEpoch = signal(0);

let client: Client | null = null;
let clientToken: string | null = null;

function wsUrl(): string {
  const url = new URL('/graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Exponential backoff with jitter, capped at 10 s. */
function backoff(retries: number): Promise<void> {
  const ms = Math.min(10_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function liveClient(): Client {
  const token = adminToken.value;
  if (client && clientToken === token) return client;
  client?.dispose();
  clientToken = token;
  client = createClient({
    url: wsUrl(),
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: backoff,
    // 4403: the token is wrong (or was rotated); anything else is worth retrying.
    shouldRetry: (event) => (event as CloseEvent | undefined)?.code !== 4403,
    connectionParams: () => ({ authorization: `Bearer ${adminToken.value ?? ''}` }),
    on: {
      connecting: () => (connection.value = connection.value === 'connected' ? 'disconnected' : connection.value),
      connected: () => {
        connection.value = 'connected';
        connectionEpoch.value++;
      },
      closed: (event) => {
        connection.value = 'disconnected';
        if ((event as CloseEvent | undefined)?.code === 4403) signOut();
      },
    },
  });
  return client;
}

/** Stops the socket (sign-out). */
export function closeLive(): void {
  client?.dispose();
  client = null;
  clientToken = null;
  connection.value = 'connecting';
}

/** Subscribes; returns the unsubscribe function (for a useEffect cleanup). */
export function subscribe<R, V>(doc: TypedDocumentString<R, V>, variables: V, onData: (data: R) => void): () => void {
  return liveClient().subscribe<R>(
    { query: doc.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => result.data && onData(result.data as R),
      error: () => {},
      complete: () => {},
    },
  );
}

/** Opens the socket early so the indicator is right from the first page. */
export function startLive(): void {
  liveClient();
}

const CheckToken = 'query DashboardCheckToken { __typename }';

/**
 * Checks a token over a one-off WebSocket: a wrong one closes it with 4403.
 * (Over HTTP the 401 would also print a console error in the browser.)
 */
export function verifyToken(token: string): Promise<boolean> {
  const probe = createClient({ url: wsUrl(), lazy: true, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
  return new Promise<boolean>((resolve, reject) => {
    probe.subscribe(
      { query: CheckToken },
      {
        next: () => {},
        complete: () => resolve(true),
        error: (error) => ((error as CloseEvent | undefined)?.code === 4403 ? resolve(false) : reject(new Error('The gateway cannot be reached'))),
      },
    );
  }).finally(() => void probe.dispose());
}
