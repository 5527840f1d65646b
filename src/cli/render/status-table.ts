/**
 * The migration's status as text: the migration guide's table for the
 * whole migration (`STATUS  METHOD  ERROR`), then one row per database.
 *
 * @module
 */
import { toServiceResponse, type MigrationStatus } from '../../index.js';
import { renderTable } from './table.js';

/** Columns a caller adds to each database's row, before its error. */
export interface ExtraColumns {
  readonly headers: readonly string[];
  readonly cells: (dbname: string) => readonly string[];
}

export function renderStatus(status: MigrationStatus, extra?: ExtraColumns): string {
  const service = toServiceResponse(status);
  const overall = renderTable(['STATUS', 'METHOD', 'ERROR'], [[service.migration.status, service.migration.method, shown(service.migration.error)]]);
  if (service.migration_detail.length === 0) return overall;
  const details = renderTable(
    ['DBNAME', 'STATUS', 'METHOD', ...(extra?.headers ?? []), 'ERROR'],
    service.migration_detail.map((d) => [d.dbname, d.status, d.method, ...(extra?.cells(d.dbname) ?? []), shown(d.error)]),
  );
  return `${overall}\n\n${details}`;
}

/** As the service's CLI shows a JSON null. */
function shown(error: string | null): string {
  return error ?? 'null';
}
