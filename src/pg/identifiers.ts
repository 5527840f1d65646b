/**
 * Quoting for the few statements that cannot take bind parameters (DDL, SET,
 * CREATE SUBSCRIPTION's connection string). Everything else binds its values.
 */

/** `"name"` with embedded quotes doubled: safe for any identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * An identifier as a person would type it into a statement: bare when that
 * reads the same (lower-case letters, digits, underscores, not starting
 * with a digit), quoted otherwise. For hints; generated SQL uses {@link quoteIdent}.
 * Reserved words are quoted too, as the few that matter here.
 */
export function readableIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : quoteIdent(name);
}

const RESERVED = new Set(['all', 'and', 'any', 'as', 'select', 'table', 'user', 'from', 'where', 'to', 'with', 'group', 'order', 'role', 'grant', 'public', 'default']);

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
