/**
 * How verify names a relation: a map key that no two relations share, and
 * the name a person would type.
 *
 * @module
 */
import { quoteIdent } from '../pg/identifiers.js';

export function tableKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

/** `public.orders`, `"Sales"."Q1"`: each part bare where it reads the same bare. */
export function displayName(schema: string, name: string): string {
  return `${plain(schema)}.${plain(name)}`;
}

/** Words PostgreSQL reserves even after a schema's dot would still parse, but not before it: quoted. */
const RESERVED = new Set(['all', 'and', 'any', 'as', 'select', 'table', 'user', 'from', 'where', 'to', 'with', 'group', 'order', 'grant', 'default', 'end', 'on', 'or', 'not', 'null', 'true', 'false', 'case', 'check', 'column', 'limit', 'offset', 'union', 'when', 'then']);

function plain(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : quoteIdent(name);
}
