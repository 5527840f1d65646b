/**
 * The session settings both sides compute checksums under. A checksum hashes
 * each row's text, and how a server renders a value depends on the session:
 * `timestamptz` on TimeZone, dates on DateStyle, intervals on IntervalStyle,
 * floats on extra_float_digits, `bytea` on bytea_output, `money` on
 * lc_monetary, `regclass` and friends on search_path. A destination whose
 * database defaults differ from the source's (a service in another time
 * zone, say) must still hash equal values equally, so every verify session
 * pins them all.
 *
 * @module
 */

/**
 * extra_float_digits for a pair of servers. From PostgreSQL 12 any positive
 * value prints the shortest text that reads back exactly; before 12, 3 prints
 * 17 significant digits, which is another text for the same value (0.1 reads
 * `0.100000000000000006`). Both eras print `%.15g` at 0, so a pair across
 * them is compared at 15 significant digits: a float that differs only past
 * those goes unnoticed, which COPY (exact in both formats) cannot cause.
 */
export function floatDigitsFor(sourceMajor: number, targetMajor: number): number {
  return sourceMajor >= 12 === targetMajor >= 12 ? 3 : 0;
}

/** The statements that pin a verify session, sent as one simple query. */
export function pinnedSettings(floatDigits: number): string {
  return [
    "set datestyle = 'ISO, YMD'",
    "set timezone = 'UTC'",
    `set extra_float_digits = ${Math.trunc(floatDigits)}`,
    "set bytea_output = 'hex'",
    "set intervalstyle = 'postgres'",
    "set lc_monetary = 'C'",
    'set search_path = pg_catalog',
    // A policy hiding rows from this user must fail the read, not shorten the count.
    'set row_security = off',
    'set statement_timeout = 0',
    'set default_transaction_read_only = on',
  ].join('; ');
}
