/**
 * The properties of the database itself, as the source database has them:
 * its settings (`ALTER DATABASE … SET`, and per role `ALTER ROLE … IN
 * DATABASE … SET`), connection limit, comment, security labels and grants;
 * and its publications (not this library's own), which would not change a
 * row but need rights (`FOR ALL TABLES`: a superuser) the destination user
 * may lack, so a refused one is a warning as a refused setting is.
 *
 * pg_dump writes them only with `--create`, as entries pg_restore restores
 * only when it creates the database itself; here the migration creates it,
 * so it restores them from the same schema dump: exactly pg_restore's
 * statements, with the database's name changed where the migration renames
 * it.
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import postgres, { type Sql } from 'postgres';
import type { PgTools } from '../pg/tools.js';
import { quoteIdent } from '../pg/identifiers.js';
import { readArchive } from './read-archive.js';
import { OBJECT_PREFIX } from '../strategies/replication/names.js';
import { parseRestoreScript, type ScriptItem } from './restore-script.js';
import { closingQuote, readIdentifier } from './sql-statements.js';

/**
 * `id; 0 0 DATABASE PROPERTIES - name owner`, `id; 0 0 COMMENT - DATABASE
 * name owner` (ACL and SECURITY LABEL alike), and the publications:
 * `PUBLICATION - name owner`, `PUBLICATION TABLE schema name table owner`,
 * `PUBLICATION TABLES IN SCHEMA …` and comments and labels on them.
 */
const PROPERTY_ENTRY = /^\d+; \d+ \d+ (?:DATABASE PROPERTIES - |(?:COMMENT|ACL|SECURITY LABEL) - (?:DATABASE|PUBLICATION) |PUBLICATION )/;

/**
 * The statements that give a database the properties the schema dump holds
 * for it (empty when it has none), naming it `target`; without owners'
 * grants when the migration restores without owners.
 */
export async function readDatabaseProperties(tools: PgTools, dumpFile: string, names: { readonly source: string; readonly target: string }, noOwner: boolean): Promise<string[]> {
  const listing = await readArchive(tools, ['--create', '--list', dumpFile]);
  const chosen = listing.split('\n').filter((line) => PROPERTY_ENTRY.test(line));
  if (chosen.length === 0) return [];
  const list = join(dirname(dumpFile), 'database-properties.list');
  await writeFile(list, `${chosen.join('\n')}\n`, { mode: 0o600 });
  const privileges = noOwner ? ['--no-owner', '--no-privileges'] : [];
  const script = await readArchive(tools, ['--create', '--verbose', ...privileges, `--use-list=${list}`, '--file=-', dumpFile]);
  // With --create, pg_restore writes the database's own entry (CREATE DATABASE, its owner) whatever the list says.
  const items = parseRestoreScript(script).items.filter((item) => item.type !== 'DATABASE');
  // Replication plumbing of this library (another destination's, or this one's) is no publication of the database's.
  const plumbing = new Set(items.filter((item) => item.type === 'PUBLICATION' && item.name.startsWith(OBJECT_PREFIX)).map((item) => item.id));
  const ofDatabase = (item: ScriptItem): boolean => item.type === 'DATABASE PROPERTIES' || item.name.startsWith('DATABASE ');
  return items
    .filter((item) => !plumbing.has(item.id) && !item.dependencies.some((dep) => plumbing.has(dep)))
    .flatMap((item) =>
      names.source === names.target || !ofDatabase(item) ? item.statements : item.statements.map((statement) => renameDatabase(statement, names.source, names.target)),
    );
}

const REFERS = new Set(['ALTER', 'ON', 'IN']);

/**
 * `statement` with the database it names after `DATABASE` (`ALTER DATABASE
 * x …`, `ON DATABASE x`, `IN DATABASE x`) named `to` instead: only that
 * reference, found outside quoted names and literals, so a role or comment
 * that spells the name is left alone. Throws when no such reference is there.
 */
export function renameDatabase(statement: string, from: string, to: string): string {
  let i = 0;
  let previous = '';
  while (i < statement.length) {
    const ch = statement[i] as string;
    if (ch === "'" || ch === '"') {
      i = closingQuote(statement, i, ch);
      previous = '';
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(statement.slice(i));
    if (!word) {
      i += 1;
      continue;
    }
    const keyword = word[0].toUpperCase();
    const after = i + word[0].length;
    // The keyword, not a role of that name: `ALTER DATABASE x`, `ON DATABASE x`, `IN DATABASE x`.
    if (keyword === 'DATABASE' && REFERS.has(previous)) {
      const name = readIdentifier(statement.slice(after));
      if (name && name.name === from) {
        const end = statement.length - name.rest.length;
        return `${statement.slice(0, after)} ${quoteIdent(to)}${statement.slice(end)}`;
      }
    }
    previous = keyword;
    i = after;
  }
  throw new Error(`no reference to database "${from}" in: ${statement.split('\n')[0]}`);
}

/** A statement the destination refused, and why. */
export interface RefusedProperty {
  readonly statement: string;
  readonly message: string;
}

/**
 * Runs the statements in one transaction, each under its own savepoint: one
 * the destination refuses (a role it lacks, a right its user lacks) is
 * reported and the others still apply. A lost connection fails the whole.
 */
export async function applyDatabaseProperties(sql: Sql, statements: readonly string[]): Promise<{ applied: number; refused: RefusedProperty[] }> {
  const refused: RefusedProperty[] = [];
  let applied = 0;
  await sql.begin(async (tx) => {
    for (const statement of statements) {
      try {
        await tx.savepoint((inner) => inner.unsafe(statement));
        applied += 1;
      } catch (error) {
        if (!(error instanceof postgres.PostgresError)) throw error;
        refused.push({ statement, message: error.message });
      }
    }
  });
  return { applied, refused };
}
