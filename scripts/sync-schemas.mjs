// Writes prisma/postgres/schema.prisma from prisma/schema.prisma. The two must
// differ only in the provider and the generated client's folder; with --check
// it fails when the PostgreSQL copy is stale (run inside `npm test`).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const source = readFileSync('prisma/schema.prisma', 'utf8');
const header = '// GENERATED from prisma/schema.prisma by `npm run db:sync-schemas`; do not edit.\n';
const pg =
  header +
  source
    .replace(/generator pothos \{[^}]*\}\n\n/, '')
    .replace('provider = "sqlite"', 'provider = "postgresql"')
    .replace('output       = "../src/generated/prisma"', 'output       = "../../src/generated/prisma-pg"');
if (!pg.includes('"postgresql"') || !pg.includes('prisma-pg') || pg.includes('prisma-pothos-types')) {
  console.error('sync-schemas: prisma/schema.prisma no longer has the expected generator/datasource lines');
  process.exit(1);
}
const target = 'prisma/postgres/schema.prisma';
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(target, 'utf8'); } catch {}
  if (current !== pg) {
    console.error(`${target} is stale: run npm run db:sync-schemas`);
    process.exit(1);
  }
} else {
  mkdirSync('prisma/postgres', { recursive: true });
  writeFileSync(target, pg);
}
