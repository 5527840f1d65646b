/**
 * One JSON line per event: the events are plain data, already redacted by
 * the library, so they are written as they are.
 *
 * @module
 */
import type { MigrationEvent } from '../../index.js';
import { writeLine, type OutputStream } from '../io.js';
import type { ProgressView } from './view.js';

export class JsonLinesView implements ProgressView {
  readonly #stream: OutputStream;
  readonly #notes: OutputStream;

  constructor(stream: OutputStream, notes: OutputStream) {
    this.#stream = stream;
    this.#notes = notes;
  }

  show(event: MigrationEvent): void {
    writeLine(this.#stream, JSON.stringify(event));
  }

  note(text: string): void {
    writeLine(this.#notes, text);
  }

  finish(): void {}
}
