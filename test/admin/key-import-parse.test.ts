// The key import's CSV and LINES reading (csv-parse underneath): quoting,
// quoted line breaks, a BOM, CRLF, comments, and problems named by the line
// their record starts on.
import { describe, expect, it } from 'vitest';
import { parseKeyImport } from '../../src/admin/key-import-parse.ts';

const K = 'sk-import-0000000000';

describe('parseKeyImport', () => {
  it('reads quoted commas, quotes and line breaks, a BOM, CRLF and comment lines', () => {
    const text = `\uFEFFvalue,name,weight,quota\r\n${K}-1,"two\r\nlines",2,\r\n# a note\r\n  # indented note\r\n\r\n"${K}-2","say ""hi""",,5\r\n`;
    // The quoted line break is read as one record (line numbers stay right after it); a name may not hold a control character, so that record is refused by its line.
    expect(parseKeyImport(text, 'CSV')).toEqual({
      keys: [{ value: `${K}-2`, name: 'say "hi"', weight: null, quota: 5, line: 7 }],
      problems: [{ line: 2, reason: expect.stringMatching(/^name: /) }],
    });
  });

  it('names each bad record by the line it starts on; an unclosed quote runs to the end', () => {
    const text = [`${K}-1,"first, with comma",3,100`, `${K}-2,"a`, `b",x,y`, `${K}-3,,heavy`, `${K}-4,a,1,2,extra`, `"${K}-5`, `${K}-6`].join('\n');
    const { keys, problems } = parseKeyImport(text, 'CSV');
    expect(keys.map((k) => [k.value, k.line])).toEqual([[`${K}-1`, 1]]);
    expect(problems).toEqual([
      // Its quoted name spans lines 2-3 and holds a line break, which names may not.
      { line: 2, reason: expect.stringMatching(/^name: /) },
      { line: 4, reason: expect.stringMatching(/^weight: /) },
      { line: 5, reason: 'expected at most 4 columns: value,name,weight,quota' },
      { line: 6, reason: 'unbalanced quotes' },
    ]);
  });

  it('reads LINES as one key a line, quotes and commas included, with the same line numbers', () => {
    const { keys, problems } = parseKeyImport(`${K}-a\n\n# note\n ${K}-b \r\n${K}-c,d\nnot a key\n`, 'LINES');
    expect(keys.map((k) => [k.value, k.line])).toEqual([[`${K}-a`, 1], [`${K}-b`, 4], [`${K}-c,d`, 5]]);
    expect(problems).toEqual([{ line: 6, reason: 'value: must not contain white space' }]);
  });
});
