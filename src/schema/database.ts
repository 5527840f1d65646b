/**
 * Creates a destination database the way the source has it: same encoding,
 * collation and character type, from `template0` so no template's leftovers
 * come along.
 */
import type { Sql } from 'postgres';
import { quoteIdent, quoteLiteral } from '../pg/identifiers.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';

export async function createDatabase(target: Sql, info: DatabaseInfo, ownerExists: boolean): Promise<void> {
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
}

/** Drops a database this migration created, after ending the sessions in it. */
export async function dropDatabase(target: Sql, name: string): Promise<void> {
  await target`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
  await target.unsafe(`drop database if exists ${quoteIdent(name)}`);
}
