/**
 * Events as one line of text each, for logs and for the lines printed
 * above progress bars. Events a person need not read (passing checks, each
 * table copied, checks that the run's error or each database's start
 * reports) have none.
 *
 * @module
 */
import type { MigrationEvent } from '../../index.js';
import { formatBytes, formatCount, formatDuration, formatEta } from '../render/units.js';

export function describeEvent(event: MigrationEvent): string | undefined {
  switch (event.type) {
    case 'check':
      // What a failing check means for the run is in its error or in each database's start.
      return undefined;
    case 'plan':
      return `plan: ${event.databases.map((d) => `${d.dbname} by ${d.method ?? 'nothing'} (${d.action})`).join(', ') || 'no database'}`;
    case 'database:start':
      return `${event.dbname}: ${event.resumed ? 'resuming' : 'starting'} (${event.method})${
        event.fallbackReasons.length > 0 ? `, not replicated: ${event.fallbackReasons.join('; ')}` : ''
      }`;
    case 'schema':
      return `${event.dbname ?? 'cluster'}: ${event.step}: ${event.detail}`;
    case 'copy:start':
      return `${event.dbname}: copying ${formatCount(event.tables)} tables, about ${formatBytes(event.estimatedBytes)}`;
    case 'copy:progress':
      return `${event.dbname}: ${copyProgress(event.fraction, event.bytesDone, event.estimatedBytes, event.rowsDone, event.etaMs)}`;
    case 'table:copied':
      return undefined;
    case 'objects:copied':
      return `${event.dbname}: ${formatCount(event.count)} ${event.kind} copied`;
    case 'replication:state':
      return `${event.dbname}: replication ${event.state}${event.tablesTotal > 0 ? ` (${event.tablesReady}/${event.tablesTotal} tables ready)` : ''}`;
    case 'replication:rights':
      return `${event.dbname}: replication rights: ${event.detail}`;
    case 'catch-up':
      return `${event.dbname}: catch-up ${event.phase}${event.sourceLsn ? ` (source at ${event.sourceLsn}, applied ${event.appliedLsn ?? 'unknown'})` : ''}`;
    case 'database:done':
      return `${event.dbname}: ${event.status} (${event.method}) in ${formatDuration(event.durationMs)}${event.error ? `: ${event.error}` : ''}`;
    case 'warning':
      return `warning${event.dbname ? ` [${event.dbname}]` : ''}: ${event.message}${event.hint ? ` (${event.hint})` : ''}`;
  }
}

export function copyProgress(fraction: number, bytesDone: number, estimatedBytes: number, rowsDone: number, etaMs: number | null): string {
  return `${Math.floor(fraction * 100)}% ${formatBytes(bytesDone)}/${formatBytes(estimatedBytes)}, ${formatCount(rowsDone)} rows, ETA ${formatEta(etaMs)}`;
}
