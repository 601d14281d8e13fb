// A live dashboard in a terminal: prints request logs and key state changes
// as keyrelay publishes them, over graphql-ws (WebSocket).
//
//   npm run -s codegen          # typed documents for the operations below
//   KEYRELAY_URL=http://127.0.0.1:8000 KEYRELAY_ADMIN_TOKEN=... npm run -s example:ws -- [--upstream <id>] [--errors] [--count <n>]
//
// --count n exits after n events (handy in scripts); otherwise Ctrl-C stops it.
import type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from '../test/generated/index.ts';

const LiveRequestLogs = graphql(`
  subscription LiveRequestLogs($upstreamId: ID, $onlyErrors: Boolean) {
    requestLogged(upstreamId: $upstreamId, onlyErrors: $onlyErrors) {
      id createdAt method path status latencyMs error upstream { name } key { name fingerprint }
    }
  }
`);
const LiveKeyStates = graphql(`
  subscription LiveKeyStates($upstreamId: ID) {
    keyStateChanged(upstreamId: $upstreamId) { keyName fingerprint from to reason actor disabledUntil rule { name } }
  }
`);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : undefined;
}

const base = process.env.KEYRELAY_URL ?? 'http://127.0.0.1:8000';
const token = process.env.KEYRELAY_ADMIN_TOKEN;
if (!token) {
  console.error('set KEYRELAY_ADMIN_TOKEN');
  process.exit(2);
}
const upstreamId = option('upstream');
const onlyErrors = process.argv.includes('--errors');
const count = option('count') ? Number(option('count')) : Infinity;

const client = createClient({
  url: `${base.replace(/^http/, 'ws')}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  on: { connected: () => console.error(`connected to ${base}`) },
});

let seen = 0;
const stops: Array<() => void> = [];
function done() {
  for (const stop of stops) stop();
  void client.dispose();
}
function event(line: string) {
  console.log(line);
  if (++seen >= count) done();
}
const sink = <T>(render: (data: T) => string) => ({
  next: (msg: { data?: T | null; errors?: readonly unknown[] }) => (msg.errors ? console.error('error:', JSON.stringify(msg.errors)) : msg.data && event(render(msg.data))),
  error: (error: unknown) => {
    console.error('subscription failed:', error instanceof Error ? error.message : JSON.stringify(error));
    process.exitCode = 1;
    done();
  },
  complete: () => {},
});

const logVariables: VariablesOf<typeof LiveRequestLogs> = { upstreamId, onlyErrors };
const keyVariables: VariablesOf<typeof LiveKeyStates> = { upstreamId };
stops.push(
  client.subscribe<ResultOf<typeof LiveRequestLogs>>(
    { query: print(LiveRequestLogs), variables: logVariables },
    sink(({ requestLogged: r }) => `${r.createdAt} ${r.upstream?.name ?? '-'} ${r.method} ${r.path} ${r.status} ${r.latencyMs}ms key=${r.key ? `${r.key.name}(${r.key.fingerprint})` : '-'}${r.error ? ` error=${r.error}` : ''}`),
  ),
  client.subscribe<ResultOf<typeof LiveKeyStates>>(
    { query: print(LiveKeyStates), variables: keyVariables },
    sink(({ keyStateChanged: c }) => `key ${c.keyName}(${c.fingerprint}) ${c.from} -> ${c.to} by ${c.actor}${c.rule ? ` rule "${c.rule.name}"` : ''}${c.reason ? `: ${c.reason}` : ''}`),
  ),
);
process.on('SIGINT', done);
