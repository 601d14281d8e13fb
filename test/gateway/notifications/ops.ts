import { graphql } from '../../generated/index.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import type { MockUpstream } from '../../support/mock-upstream.ts';

export const CreateUpstream = graphql(`mutation NotifCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id name } }`);
export const AddKeys = graphql(`mutation NotifAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id name fingerprint } }`);
export const CreateRule = graphql(`mutation NotifCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
export const CreateToken = graphql(`mutation NotifCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }`);
export const SetKeyStatus = graphql(`mutation NotifSetKeyStatus($id: ID!, $status: KeyStatus!) { setKeyStatus(id: $id, status: $status) { id status } }`);
export const CreateChannel = graphql(`mutation NotifCreateChannel($input: CreateNotificationChannelInput!) {
  createNotificationChannel(input: $input) { secret channel { id name kind url emailTo events upstreamIds minIntervalSeconds enabled createdAt } }
}`);
export const UpdateChannel = graphql(`mutation NotifUpdateChannel($id: ID!, $input: UpdateNotificationChannelInput!) {
  updateNotificationChannel(id: $id, input: $input) { id enabled minIntervalSeconds url }
}`);
export const DeleteChannel = graphql(`mutation NotifDeleteChannel($id: ID!) { deleteNotificationChannel(id: $id) }`);
export const Channels = graphql(`query NotifChannels { notificationChannels { id name kind url emailTo events upstreamIds minIntervalSeconds enabled } }`);
export const Deliveries = graphql(`query NotifDeliveries($channelId: ID, $first: Int) {
  notificationDeliveries(channelId: $channelId, first: $first) { id channelId event subject status attempts error folded createdAt deliveredAt }
}`);
export const TestNotification = graphql(`mutation NotifTest($channelId: ID!) {
  testNotification(channelId: $channelId) { id channelId event status attempts error folded deliveredAt }
}`);
export const Alerts = graphql(`query NotifAlerts($first: Int, $upstreamId: ID) {
  alerts(first: $first, upstreamId: $upstreamId) { id ruleId ruleName upstreamId upstreamName keyId keyName fingerprint requestId status message createdAt }
}`);
export const RunJob = graphql(`mutation NotifRunJob($name: String!) { runJob(name: $name) { id } }`);

export interface Target {
  upstreamId: string;
  keys: Array<{ id: string; name: string; fingerprint: string }>;
}

/** An upstream on the mock with the given key values (named `<name>-<i>`). */
export async function upstreamWithKeys(url: string, mock: MockUpstream, name: string, values: string[], extra: Record<string, unknown> = {}): Promise<Target> {
  const { createUpstream } = await gqlOk(url, CreateUpstream, { input: { name, baseUrl: `${mock.url}/v1`, maxRetries: 0, ...extra } });
  const { addKeys } = await gqlOk(url, AddKeys, { upstreamId: createUpstream.id, keys: values.map((value, i) => ({ value, name: `${name}-${i}` })) });
  return { upstreamId: createUpstream.id, keys: addKeys };
}

export function chat(url: string, upstream: string, token: string): Promise<Response> {
  return fetch(`${url}/proxy/${upstream}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
  });
}
