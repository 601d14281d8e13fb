// npm run schema:print writes schema.graphql from the Pothos schema;
// npm run schema:check fails when the checked-in file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../db/migrate.ts';
import { printSortedSchema } from '../graphql/schema.ts';

const file = join(PROJECT_ROOT, 'schema.graphql');
const sdl = printSortedSchema();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== sdl) {
    console.error('schema.graphql is stale: run npm run schema:print and commit it');
    process.exit(1);
  }
  console.log('schema.graphql is current');
} else {
  writeFileSync(file, sdl);
  console.log(`wrote ${file}`);
}
