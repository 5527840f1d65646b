/**
 * One line of text per event that matters, for a log or a pipe; a
 * database's copy progress at most every few seconds, and at its end.
 *
 * @module
 */
import type { MigrationEvent } from '../../index.js';
import { writeLine, type OutputStream } from '../io.js';
import { describeEvent } from './describe-event.js';
import type { ProgressView } from './view.js';

const PROGRESS_EVERY_MS = 5_000;

export class TextLinesView implements ProgressView {
  readonly #stream: OutputStream;
  readonly #lastProgress = new Map<string, number>();

  constructor(stream: OutputStream) {
    this.#stream = stream;
  }

  show(event: MigrationEvent): void {
    if (event.type === 'copy:progress') {
      const now = Date.now();
      const last = this.#lastProgress.get(event.dbname);
      if (event.fraction < 1 && last !== undefined && now - last < PROGRESS_EVERY_MS) return;
      this.#lastProgress.set(event.dbname, now);
    }
    const line = describeEvent(event);
    if (line !== undefined) writeLine(this.#stream, line);
  }

  note(text: string): void {
    writeLine(this.#stream, text);
  }

  finish(): void {}
}
