/**
 * A progress bar per database on a terminal (cli-progress): bytes copied of
 * the estimate, rows, ETA, and where replication stands; other events as
 * lines above the bars.
 *
 * @module
 */
import cliProgress from 'cli-progress';
import type { MigrationEvent } from '../../index.js';
import { writeLine, type OutputStream } from '../io.js';
import { formatBytes, formatCount, formatDuration, formatEta } from '../render/units.js';
import { describeEvent } from './describe-event.js';
import type { ProgressView } from './view.js';

/** What a database's bar shows besides the bar itself. */
interface BarPayload {
  dbname: string;
  bytes: number;
  estimatedBytes: number;
  rows: number;
  etaMs: number | null;
  /** Its phase: "copying", "replication verifying 3/5 tables", "done"... */
  state: string;
}

export class ProgressBarsView implements ProgressView {
  readonly #stream: OutputStream;
  readonly #multibar: cliProgress.MultiBar;
  readonly #bars = new Map<string, { bar: cliProgress.SingleBar; payload: BarPayload }>();
  #nameWidth = 0;
  #finished = false;

  constructor(stream: OutputStream) {
    this.#stream = stream;
    this.#multibar = new cliProgress.MultiBar({
      stream,
      format: (options, params, payload: BarPayload) => this.#format(options, params, payload),
      barsize: 24,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      emptyOnZero: true,
      // Lines logged above the bars overwrite them: every frame draws every bar again.
      forceRedraw: true,
      // Ctrl-C cancels the migration, which keeps drawing until it has cleaned up.
      gracefulExit: false,
    });
  }

  show(event: MigrationEvent): void {
    if (this.#finished) return;
    switch (event.type) {
      case 'database:start':
        this.#update(event.dbname, { state: `starting (${event.method})` });
        break;
      case 'schema':
        if (event.dbname !== null && this.#bars.has(event.dbname)) this.#update(event.dbname, { state: `schema ${event.step}` });
        break;
      case 'copy:start':
        this.#update(event.dbname, { state: 'copying', estimatedBytes: event.estimatedBytes });
        break;
      case 'copy:progress':
        this.#update(event.dbname, { bytes: event.bytesDone, estimatedBytes: event.estimatedBytes, rows: event.rowsDone, etaMs: event.etaMs });
        break;
      case 'table:copied':
        this.#update(event.dbname, { bytes: event.bytesDone, estimatedBytes: event.estimatedBytes, ...(event.rowsDone !== undefined && { rows: event.rowsDone }) });
        break;
      case 'replication:state':
        this.#update(event.dbname, {
          state: `replication ${event.state}${event.tablesTotal > 0 ? ` ${event.tablesReady}/${event.tablesTotal} tables` : ''}`,
          ...(event.state === 'syncing' && { etaMs: 0 }),
        });
        break;
      case 'database:done': {
        const entry = this.#bars.get(event.dbname);
        const bytes = entry ? Math.max(entry.payload.bytes, entry.payload.estimatedBytes) : 0;
        this.#update(event.dbname, {
          state: `${event.status} in ${formatDuration(event.durationMs)}`,
          ...(event.status === 'failed' ? { etaMs: null } : { bytes, estimatedBytes: bytes, etaMs: 0 }),
        });
        if (event.error) this.note(`${event.dbname}: ${event.error}`);
        break;
      }
      default: {
        const line = describeEvent(event);
        if (line !== undefined) this.note(line);
      }
    }
  }

  note(text: string): void {
    // cli-progress prints logged lines on its next frame, only while bars are drawn, over
    // the lines of the bars: each erases what is left of the line it lands on.
    if (this.#bars.size > 0 && !this.#finished) this.#multibar.log(`${text}\x1b[K\n`);
    else writeLine(this.#stream, text);
  }

  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#bars.size === 0) return;
    // The last frame also prints lines logged since the one before.
    this.#multibar.update();
    this.#multibar.stop();
  }

  #update(dbname: string, change: Partial<BarPayload>): void {
    let entry = this.#bars.get(dbname);
    if (!entry) {
      const payload: BarPayload = { dbname, bytes: 0, estimatedBytes: 0, rows: 0, etaMs: null, state: '', ...change };
      this.#nameWidth = Math.max(this.#nameWidth, dbname.length);
      entry = { bar: this.#multibar.create(payload.estimatedBytes, payload.bytes, payload), payload };
      this.#bars.set(dbname, entry);
      return;
    }
    Object.assign(entry.payload, change);
    // The estimate grows as the copy sees what it streams; the bar follows it.
    entry.bar.setTotal(entry.payload.estimatedBytes);
    entry.bar.update(entry.payload.bytes, entry.payload);
  }

  #format(options: cliProgress.Options, params: cliProgress.Params, payload: BarPayload): string {
    const percent = `${Math.floor(params.progress * 100)}%`.padStart(4);
    return [
      `${payload.dbname.padEnd(this.#nameWidth)} ${cliProgress.Format.BarFormat(params.progress, options)} ${percent}`,
      `${formatBytes(payload.bytes)}/${formatBytes(payload.estimatedBytes)}`,
      `${formatCount(payload.rows)} rows`,
      `ETA ${formatEta(payload.etaMs)}`,
      payload.state,
    ].join(' | ');
  }
}
