/**
 * Quoting for the few statements that cannot take bind parameters (DDL, SET,
 * CREATE SUBSCRIPTION's connection string). Everything else binds its values.
 */

/** `"name"` with embedded quotes doubled: safe for any identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, each part quoted. */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A standard-conforming string literal (`standard_conforming_strings` is on since 9.1). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A value inside a libpq `key=value` connection string: quoted, with `\` and `'` escaped. */
export function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
