// requestLog(id): one row for the dashboard's detail view, null when absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';

const RequestLogById = graphql(`
  query RequestLogById($id: ID!) {
    requestLog(id: $id) { id requestId method path status outcome upstream { id name } }
  }
`);
const CreateUpstream = graphql(`mutation LogByIdCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);

describe.each(PROVIDERS)('requestLog(id) on %s', (provider) => {
  let t: TestGateway;
  let upstreamId: string;
  let ids: number[];

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'by-id', baseUrl: 'https://api.example.com' } })).createUpstream.id;
    ids = [];
    for (const [i, status] of [200, 429, 500].entries()) {
      const row = await t.gateway.db.prisma.requestLog.create({
        data: { createdAt: new Date(), requestId: `by-id-${i}`, upstreamId, method: 'POST', path: `/v1/x${i}`, status, outcome: status < 400 ? 'ok' : 'upstream_error', latencyMs: 5 },
      });
      ids.push(row.id);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the row with that id, with its relations', async () => {
    for (const [i, id] of ids.entries()) {
      const data = await gqlOk(t.url, RequestLogById, { id: String(id) });
      expect(data.requestLog).toEqual({
        id: String(id),
        requestId: `by-id-${i}`,
        method: 'POST',
        path: `/v1/x${i}`,
        status: [200, 429, 500][i],
        outcome: i === 0 ? 'ok' : 'upstream_error',
        upstream: { id: upstreamId, name: 'by-id' },
      });
    }
  });

  it('answers null, not an error, for an id with no row or one that cannot be a row id', async () => {
    const missing = Math.max(...ids) + 1000;
    await t.gateway.db.prisma.requestLog.delete({ where: { id: ids[2]! } });
    for (const id of [String(ids[2]), String(missing), '0', '-1', 'abc', '1.5', '99999999999999999999', '2147483648']) {
      const res = await gql(t.url, RequestLogById, { id });
      expect(res.errors, `id ${id}`).toBeUndefined();
      expect(res.data?.requestLog, `id ${id}`).toBeNull();
    }
  });
});
