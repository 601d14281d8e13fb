import { CliError, type Remote } from '../remote.ts';

const FIND = `query CliUpstreamIds { upstreams { id name } }`;
const CREATE = `mutation CliCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token accessToken { id name } } }`;

/** keyrelay tokens create <name> [--upstream a,b]: prints the new client token once, on stdout. */
export async function createToken(remote: Remote, name: string, upstreams: string[]): Promise<number> {
  let upstreamIds: string[] = [];
  if (upstreams.length) {
    const { upstreams: known } = await remote.request<{ upstreams: Array<{ id: string; name: string }> }>(FIND);
    upstreamIds = upstreams.map((u) => {
      const found = known.find((k) => k.name === u);
      if (!found) throw new CliError(`no upstream named "${u}" at ${remote.url}`);
      return found.id;
    });
  }
  const res = await remote.request<{ createAccessToken: { token: string; accessToken: { id: string; name: string } } }>(CREATE, { input: { name, upstreamIds } });
  const scope = upstreams.length ? `upstreams ${upstreams.join(', ')}` : 'every upstream';
  process.stderr.write(`keyrelay: access token "${res.createAccessToken.accessToken.name}" (id ${res.createAccessToken.accessToken.id}) for ${scope}; shown once, store it now.\n`);
  process.stdout.write(`${res.createAccessToken.token}\n`);
  return 0;
}
