/**
 * Progress of one database's copy, for a progress bar: bytes and rows per
 * table and in total, while a table streams and not only when it ends.
 *
 * Streamed COPY bytes are not on-disk bytes (pgbench_accounts: 96 MB of COPY
 * text from a 128 MB heap; TOASTed values stream larger than they are
 * stored), so the total is re-estimated as tables finish: finished tables
 * count what they streamed, the others their on-disk size scaled by the
 * ratio seen so far. Once every table is copied the estimate is the real
 * total, and the fraction is exactly 1.
 *
 * @module
 */
import type { CopyProgressEvent, CopyTableProgress, Emit } from '../events.js';
import type { CopyItem, PlannedTable } from './copy-plan.js';
import type { CopyMeter } from './copy-streams.js';
import type { SizedTable } from '../pg/queries/tables.js';

/** At most this often a `copy:progress` event while data streams. */
const INTERVAL_MS = 250;

interface TableState {
  readonly table: PlannedTable;
  readonly estimate: number;
  /** Pieces under way, each with its meter. */
  readonly running: Set<CopyMeter>;
  /** What finished pieces streamed and wrote. */
  bytes: number;
  rows: number;
  /** Rows finished pieces read off the wire. */
  read: number;
  piecesLeft: number;
  /** A piece of it has started. */
  begun: boolean;
}

export class CopyProgress {
  readonly #dbname: string;
  readonly #emit: Emit;
  readonly #tables = new Map<PlannedTable, TableState>();
  readonly #started = Date.now();
  #last = 0;
  #tablesDone = 0;
  #doneBytes = 0;
  #doneRows = 0;
  /** On-disk size of the finished tables, against which their streamed bytes are a ratio. */
  #doneEstimate = 0;
  /** On-disk size of the tables no piece of which has started. */
  #waitingEstimate = 0;
  /**
   * Tables started and not finished: the only ones whose share of the
   * estimate is not a sum kept as they go. A table's event asks for the
   * estimate, and asking every table for it made 2,000 tables cost 4
   * million steps.
   */
  readonly #underWay = new Set<TableState>();

  constructor(dbname: string, emit: Emit, items: readonly CopyItem[]) {
    this.#dbname = dbname;
    this.#emit = emit;
    for (const item of items) {
      if (this.#tables.has(item.table)) continue;
      this.#tables.set(item.table, {
        table: item.table,
        estimate: item.table.info.bytes,
        running: new Set(),
        bytes: 0,
        rows: 0,
        read: 0,
        piecesLeft: item.table.pieces,
        begun: false,
      });
      this.#waitingEstimate += item.table.info.bytes;
    }
  }

  /** The sum of the tables' on-disk sizes, the estimate before any data moved. */
  get initialEstimate(): number {
    let sum = 0;
    for (const state of this.#tables.values()) sum += state.estimate;
    return sum;
  }

  get tablesTotal(): number {
    return this.#tables.size;
  }

  get tablesDone(): number {
    return this.#tablesDone;
  }

  get bytesDone(): number {
    return this.#doneBytes;
  }

  get rowsDone(): number {
    return this.#doneRows;
  }

  started(item: CopyItem, meter: CopyMeter): void {
    const state = this.#state(item);
    state.running.add(meter);
    if (state.begun) return;
    state.begun = true;
    this.#waitingEstimate -= state.estimate;
    this.#underWay.add(state);
  }

  /** Called as data streams; emits at most every {@link INTERVAL_MS}. */
  tick(): void {
    const now = Date.now();
    if (now - this.#last < INTERVAL_MS) return;
    this.#last = now;
    this.#emit(this.snapshot());
  }

  /** A piece committed with `rows` rows; true when it was its table's last. */
  finished(item: CopyItem, meter: CopyMeter, rows: number): boolean {
    const state = this.#state(item);
    state.running.delete(meter);
    state.bytes += meter.bytes;
    state.rows += rows;
    // A CopyData message a row; binary COPY sends its trailer as one more.
    state.read += item.table.format === 'binary' ? Math.max(0, meter.rows - 1) : meter.rows;
    state.piecesLeft -= 1;
    if (state.piecesLeft > 0) return false;
    this.#underWay.delete(state);
    this.#tablesDone += 1;
    this.#doneBytes += state.bytes;
    this.#doneRows += state.rows;
    this.#doneEstimate += state.estimate;
    return true;
  }

  /** Every table, with the rows its finished pieces read. */
  rowsRead(): { info: SizedTable; rows: number }[] {
    return [...this.#tables.values()].map((state) => ({ info: state.table.info, rows: state.read }));
  }

  /** What a finished table streamed and wrote. */
  totals(item: CopyItem): { bytes: number; rows: number } {
    const state = this.#state(item);
    return { bytes: state.bytes, rows: state.rows };
  }

  /** The estimated total bytes to stream, given what streamed so far. */
  estimatedBytes(): number {
    const ratio = this.#doneEstimate > 0 ? this.#doneBytes / this.#doneEstimate : 1;
    let total = this.#doneBytes + Math.round(this.#waitingEstimate * ratio);
    for (const state of this.#underWay) total += Math.max(this.#streamed(state).bytes, Math.round(state.estimate * ratio));
    return total;
  }

  snapshot(): CopyProgressEvent {
    let bytesDone = this.#doneBytes;
    let rowsDone = this.#doneRows;
    const tables: CopyTableProgress[] = [];
    for (const state of this.#underWay) {
      const streamed = this.#streamed(state);
      if (streamed.bytes === 0 && state.running.size === 0) continue;
      bytesDone += streamed.bytes;
      rowsDone += streamed.rows;
      tables.push({
        schema: state.table.info.schema,
        table: state.table.info.name,
        bytes: streamed.bytes,
        rows: streamed.rows,
        estimatedBytes: state.estimate,
      });
    }
    const estimatedBytes = Math.max(this.estimatedBytes(), bytesDone);
    const elapsedMs = Date.now() - this.#started;
    const fraction = this.#tablesDone === this.#tables.size ? 1 : estimatedBytes > 0 ? Math.min(1, bytesDone / estimatedBytes) : 0;
    const etaMs = fraction === 1 ? 0 : bytesDone > 0 ? Math.round((elapsedMs * (estimatedBytes - bytesDone)) / bytesDone) : null;
    return {
      type: 'copy:progress',
      dbname: this.#dbname,
      tablesDone: this.#tablesDone,
      tablesTotal: this.#tables.size,
      bytesDone,
      rowsDone,
      estimatedBytes,
      fraction,
      elapsedMs,
      etaMs,
      tables,
    };
  }

  /** Bytes and rows of a table so far: finished pieces, and what the running ones streamed. */
  #streamed(state: TableState): { bytes: number; rows: number } {
    let bytes = state.bytes;
    let rows = state.rows;
    for (const meter of state.running) {
      bytes += meter.bytes;
      // One COPY message a row; binary COPY's trailer is one more, which this approximation ignores.
      rows += meter.rows;
    }
    return { bytes, rows };
  }

  #state(item: CopyItem): TableState {
    const state = this.#tables.get(item.table);
    if (!state) throw new Error(`No progress kept for ${item.table.info.schema}.${item.table.info.name}`);
    return state;
  }
}
