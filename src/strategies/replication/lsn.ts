/**
 * WAL positions (`pg_lsn`, written `X/Y` in hex) compared exactly, as
 * 64-bit numbers.
 */

export function parseLsn(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new Error(`Not a WAL position: ${lsn}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

const WAL_PAGE = 8192n;
/** Short and long (first page of a segment) WAL page headers, MAXALIGNed. */
const PAGE_HEADERS = new Set([24n, 40n]);

/**
 * True when everything before `target` has been passed at `reached`.
 * `pg_current_wal_insert_lsn()` just after a record that filled its page
 * points past the next page's header, where no record ends; a consumer that
 * has read everything stands at the page boundary before it, and on an idle
 * source would never "reach" the target.
 */
export function lsnReached(reached: string, target: string): boolean {
  const at = parseLsn(reached);
  const goal = parseLsn(target);
  if (at >= goal) return true;
  const offset = goal % WAL_PAGE;
  return PAGE_HEADERS.has(offset) && at >= goal - offset;
}
