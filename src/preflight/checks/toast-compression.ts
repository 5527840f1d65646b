import { readableIdent } from '../../pg/identifiers.js';
import type { Check, Finding } from '../facts.js';

// readableIdent quotes `public` for GRANT's sake; as a schema or column name it reads bare.
const ident = (name: string): string => (name === 'public' ? name : readableIdent(name));

/**
 * pg_dump writes a column's compression method into its definition, and a
 * destination built without that method (lz4 is a build option), or older
 * than 14, refuses the whole table. The data is no obstacle: it leaves the
 * source decompressed, by dump or by replication.
 *
 * Refused rather than silently dumped without compression: the method was
 * somebody's choice of speed and size, and dropping it for every column of
 * the database should be theirs too, made with one statement on the source.
 */
export const toastCompression: Check = ({ databases, target }) => {
  const offered = new Set(target.settings.toastCompressionMethods);
  const findings: Finding[] = [];
  for (const db of databases) {
    const refused = db.compressedColumns.filter((c) => !offered.has(c.method));
    if (refused.length === 0) continue;
    const methods = [...new Set(refused.map((c) => c.method))].join(', ');
    const table = (c: (typeof refused)[number]): string => `${ident(c.schema)}.${ident(c.table)}`;
    const statements = refused.map((c) => `ALTER TABLE ${table(c)} ALTER COLUMN ${ident(c.column)} SET COMPRESSION pglz;`);
    const fix =
      offered.size === 0
        ? `PostgreSQL ${target.settings.major} has no column compression at all: migrate to PostgreSQL 14 or later, or`
        : `Use a destination built with ${methods} (most distributions' packages are; check SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'), or`;
    findings.push({
      id: 'toast-compression',
      ok: false,
      side: 'target',
      database: db.info.name,
      blocks: 'migration',
      message:
        `Columns of "${db.info.name}" are compressed with ${methods}, which the destination ` +
        `(offering ${offered.size > 0 ? [...offered].join(', ') : 'no compression method'}) refuses: ` +
        refused.map((c) => `${table(c)}.${ident(c.column)}`).join(', '),
      hint:
        `${fix} switch the columns to pglz on the source (their stored values stay as they are there, and arrive on the destination compressed with pglz): ` +
        statements.join(' '),
    });
  }
  if (findings.length === 0) {
    return [{ id: 'toast-compression', ok: true, side: 'target', message: 'The destination offers every column compression method the databases use' }];
  }
  return findings;
};
