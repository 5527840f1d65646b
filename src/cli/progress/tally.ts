/**
 * What each database's copy amounted to, gathered from the events, for the
 * summary at the end of `migrate`.
 *
 * @module
 */
import type { Migrator } from '../../index.js';
import { formatBytes, formatCount, formatDuration } from '../render/units.js';

interface Copied {
  rows: number;
  bytes: number;
  durationMs: number | null;
}

export class DatabaseTally {
  readonly #databases = new Map<string, Copied>();

  constructor(migrator: Migrator) {
    migrator.on('copy:progress', (e) => Object.assign(this.#of(e.dbname), { rows: e.rowsDone, bytes: e.bytesDone }));
    migrator.on('database:done', (e) => (this.#of(e.dbname).durationMs = e.durationMs));
  }

  /** ROWS, SIZE and TIME of a database; `-` for what this run did not see (a database kept from an earlier run). */
  cells(dbname: string): readonly string[] {
    const copied = this.#databases.get(dbname);
    if (!copied) return ['-', '-', '-'];
    return [formatCount(copied.rows), formatBytes(copied.bytes), copied.durationMs === null ? '-' : formatDuration(copied.durationMs)];
  }

  #of(dbname: string): Copied {
    let copied = this.#databases.get(dbname);
    if (!copied) this.#databases.set(dbname, (copied = { rows: 0, bytes: 0, durationMs: null }));
    return copied;
  }
}
