import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderGraphiQL } from 'graphql-yoga';
import { withTokenScreen } from './graphiql-token-screen.ts';

// Yoga's GraphiQL page loads its scripts from a public CDN; gateways often run
// where that is unreachable. The same files ship in @graphql-yoga/graphiql and
// are served from here instead.
const require = createRequire(import.meta.url);
const DIST = join(dirname(require.resolve('@graphql-yoga/graphiql/package.json')), 'dist');
const CDN = /https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[^/]+\/dist\//g;
export const GRAPHIQL_ASSET_PREFIX = '/graphiql-assets/';

const ASSETS: Record<string, string> = {
  'graphiql.css': 'text/css',
  'yoga-graphiql.umd.js': 'application/javascript',
  'monacoeditorwork/editor.worker.bundle.js': 'application/javascript',
  'monacoeditorwork/json.worker.bundle.js': 'application/javascript',
  'monacoeditorwork/graphql.worker..bundle.js': 'application/javascript',
};

export function renderLocalGraphiQL(options: Parameters<typeof renderGraphiQL>[0]): string {
  const html = renderGraphiQL(options)
    .replace(CDN, GRAPHIQL_ASSET_PREFIX)
    .replace(/<link rel=icon href=[^>]+>/, '');
  return withTokenScreen(html);
}

/** The file for an asset path under GRAPHIQL_ASSET_PREFIX, or null (only the files above are served). */
export async function readGraphiQLAsset(name: string): Promise<{ body: Buffer; contentType: string } | null> {
  const contentType = ASSETS[name];
  if (!contentType) return null;
  return { body: await readFile(join(DIST, name)), contentType };
}
