import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, type ErrorCode } from './codes';
import { EVENTS } from './protocol';

/** PROTOCOL.md is normative for client authors: it must not drift from the codes and events in `shared/src`. */
const doc = readFileSync(join(__dirname, '..', 'PROTOCOL.md'), 'utf8');

interface Row {
  code: string;
  httpStatus: number;
  retryable: string;
}

/** Rows of the error-code table (§9): `| \`RW_ERR_…\` | status | yes/no | meaning |`. */
function errorTableRows(): Row[] {
  return doc
    .split('\n')
    .filter((line) => line.startsWith('| `RW_ERR_'))
    .map((line) => {
      const cells = line.split('|').map((cell) => cell.trim());
      // cells[0] is the empty string before the leading pipe.
      const code = /^`(RW_ERR_[A-Z_]+)`$/.exec(cells[1] ?? '')?.[1] ?? `unparsed: ${line}`;
      return { code, httpStatus: Number(cells[2]), retryable: cells[3] ?? '' };
    });
}

test('the error table lists every code of ERROR_CODES, in the same order', () => {
  expect(errorTableRows().map((row) => row.code)).toEqual(Object.keys(ERROR_CODES));
});

test("each row's HTTP status and retryable flag match ERROR_CODES", () => {
  const rows = errorTableRows();
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(Object.prototype.hasOwnProperty.call(ERROR_CODES, row.code)).toBe(true);
    const expected = ERROR_CODES[row.code as ErrorCode];
    expect({ code: row.code, httpStatus: row.httpStatus, retryable: row.retryable }).toEqual({
      code: row.code,
      httpStatus: expected.httpStatus,
      retryable: expected.retryable ? 'yes' : 'no',
    });
  }
});

test('every protocol event name appears in backticks', () => {
  for (const name of Object.values(EVENTS)) expect(doc).toContain(`\`${name}\``);
});
