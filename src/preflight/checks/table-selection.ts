import { namesTable, type TableName } from '../../selection/table-names.js';
import type { Check, Finding } from '../facts.js';

/**
 * The `tables` option names real tables, and a selected table references
 * no table the selection leaves out (its foreign key could not be created):
 * a typo or a half selection is found before anything is copied.
 */
export const tableSelection: Check = ({ databases, selection }) => {
  const { include, exclude } = selection.tables;
  if (include.length === 0 && exclude.length === 0) return [];
  const findings: Finding[] = [];
  const shown = (name: TableName): string => [name.database, name.schema, name.table].filter((p) => p !== undefined).join('.');
  const unmatched = [...include, ...exclude].filter(
    (name) =>
      !databases.some(
        (db) => (name.database === undefined || name.database === db.info.name) && db.tableNames.some((t) => namesTable(name, db.info.name, t.schema, t.name)),
      ),
  );
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
  for (const db of databases.filter((d) => d.keysOutOfSelection.length > 0)) {
    findings.push({
      id: 'table-selection',
      ok: false,
      blocks: 'migration',
      side: 'source',
      database: db.info.name,
      message: `In "${db.info.name}", selected tables reference tables the selection leaves out: ${db.keysOutOfSelection.slice(0, 5).join('; ')}`,
      hint: 'Select the referenced tables too, or leave the referencing ones out.',
    });
  }
  return findings;
};
