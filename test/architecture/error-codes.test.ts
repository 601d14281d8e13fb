// The README's error table lists exactly the catalogue's codes, statuses and meanings.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorBody } from '../../src/error-codes.ts';
import { ROOT } from './source-files.ts';

function readmeTable(): Array<[string, number, string]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Error codes'));
  return [...section.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (.+) \|$/gm)].map((m) => [m[1]!, Number(m[2]), m[3]!]);
}

describe('the error catalogue', () => {
  it('matches the README table row for row', () => {
    const catalogue = Object.entries(ERROR_CODES).map(([code, e]) => [code, e.status, e.meaning]);
    expect(readmeTable()).toEqual(catalogue);
  });

  it('has one JSON shape, with the request id when there is one', () => {
    expect(JSON.parse(errorBody('NOT_FOUND', 'not found'))).toEqual({ error: { message: 'not found', type: 'keyrelay_error', code: 'NOT_FOUND' } });
    expect(JSON.parse(errorBody('NO_USABLE_KEY', 'none', 'req-1', { retry_after: 3 }))).toEqual({
      error: { message: 'none', type: 'keyrelay_error', code: 'NO_USABLE_KEY', request_id: 'req-1', retry_after: 3 },
    });
  });
});
