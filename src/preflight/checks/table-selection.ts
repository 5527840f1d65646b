import { namesTable, type TableName } from '../../selection/table-names.js';
import type { Check, Finding } from '../facts.js';

const AT_MOST = 5;

const listed = (items: readonly string[]): string =>
  items.length > AT_MOST ? `${items.slice(0, AT_MOST).join('; ')}; and ${items.length - AT_MOST} more` : items.join('; ');

/**
 * The `tables` option names real tables, and what the selection keeps
 * (`tables` and `excludeSchemas` together) needs nothing it leaves out: no
 * foreign key into a table or partition left out, no table inheriting from
 * one, no view reading one, no column, function or extension needing a type
 * or schema left out. Each would fail on the destination mid-migration;
 * here, a typo or a half selection is found before anything is copied.
 */
export const tableSelection: Check = ({ databases, selection }) => {
  const { include, exclude } = selection.tables;
  const findings: Finding[] = [];
  const shown = (name: TableName): string => [name.database, name.schema, name.table].filter((p) => p !== undefined).join('.');
  const unmatched = [...include, ...exclude].filter(
    (name) =>
      !databases.some(
        (db) => (name.database === undefined || name.database === db.info.name) && db.tableNames.some((t) => namesTable(name, db.info.name, t.schema, t.name)),
      ),
  );
  if (include.length > 0 || exclude.length > 0) {
    findings.push(
      unmatched.length === 0
        ? { id: 'table-selection', ok: true, message: `The tables option names ${include.length + exclude.length} table(s), each found` }
        : {
            id: 'table-selection',
            ok: false,
            blocks: 'migration',
            side: 'source',
            message: `The tables option names what no selected source database has: ${unmatched.map(shown).join(', ')}`,
            hint: "Check the spelling: unquoted names are folded to lower case ('\"Orders\"' keeps the capital), and database.schema.table applies to that database only.",
          },
    );
  }
  const refuse = (database: string, message: string, hint: string): void => {
    findings.push({ id: 'table-selection', ok: false, blocks: 'migration', side: 'source', database, message, hint });
  };
  for (const db of databases.filter((d) => d.keysOutOfSelection.length > 0)) {
    refuse(
      db.info.name,
      `In "${db.info.name}", selected tables reference tables the selection leaves out: ${listed(db.keysOutOfSelection)}`,
      'Select the referenced tables too (all of a partitioned table\'s partitions, whatever their schema), or leave the referencing ones out.',
    );
  }
  for (const db of databases.filter((d) => d.needsOutOfSelection.length > 0)) {
    refuse(
      db.info.name,
      `In "${db.info.name}", what the selection keeps needs what it leaves out: ${listed(db.needsOutOfSelection)}`,
      'Keep what they need: take it out of tables.exclude or excludeSchemas, or add it to tables.include. Or leave out what needs it: a table by tables.exclude, ' +
        'a view, function or type with its schema (excludeSchemas).',
    );
  }
  return findings;
};
