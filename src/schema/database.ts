/**
 * Creates a destination database the way the source has it: same encoding,
 * collation and character type, from `template0` so no template's leftovers
 * come along.
 */
import type { Sql } from 'postgres';
import { quoteIdent, quoteLiteral } from '../pg/identifiers.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';

/** Creates the database and returns its OID; fails if one of that name exists (it would not be ours). */
export async function createDatabase(target: Sql, info: DatabaseInfo, ownerExists: boolean): Promise<number> {
  const owner = ownerExists ? ` owner ${quoteIdent(info.owner)}` : '';
  const provider =
    info.localeProvider === 'i' && info.locale
      ? ` locale_provider icu icu_locale ${quoteLiteral(info.locale)}`
      : info.localeProvider === 'b' && info.locale
        ? ` locale_provider builtin builtin_locale ${quoteLiteral(info.locale)}`
        : '';
  await target.unsafe(
    `create database ${quoteIdent(info.name)} with template template0 encoding ${quoteLiteral(info.encoding)} ` +
      `lc_collate ${quoteLiteral(info.collate)} lc_ctype ${quoteLiteral(info.ctype)}${provider}${owner}`,
  );
  const [row] = await target<{ oid: number }[]>`select oid::bigint::float8 as oid from pg_database where datname = ${info.name}`;
  if (!row) throw new Error(`Database "${info.name}" vanished right after it was created`);
  return Number(row.oid);
}

/**
 * Drops a database this migration created — identified by its OID, never by
 * its name alone — after ending the sessions in it. A database of that name
 * with another OID is someone else's: it is left alone and this fails.
 */
export async function dropOwnDatabase(target: Sql, name: string, oid: number): Promise<void> {
  const [row] = await target<{ oid: number }[]>`select oid::bigint::float8 as oid from pg_database where datname = ${name}`;
  if (!row) return;
  if (Number(row.oid) !== oid) throw new Error(`"${name}" on the destination is not the database this migration created (OID ${Number(row.oid)}, not ${oid}); it is left as it is`);
  await target`select pg_terminate_backend(pid) from pg_stat_activity where datid = ${oid} and pid <> pg_backend_pid()`;
  await target.unsafe(`drop database ${quoteIdent(name)}`);
}
