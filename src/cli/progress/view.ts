/**
 * How a command shows the library's events while it runs: JSON lines, text
 * lines, or progress bars on a terminal.
 *
 * @module
 */
import type { MigrationEvent } from '../../index.js';
import { writeLine, type OutputStream } from '../io.js';
import type { EventFormat } from '../output-plan.js';
import { JsonLinesView } from './json-lines.js';
import { ProgressBarsView } from './progress-bars.js';
import { TextLinesView } from './text-lines.js';

export interface ProgressView {
  show(event: MigrationEvent): void;
  /** A message of the CLI's own ("Cancelling..."), for a person: never mixed into JSON lines. */
  note(text: string): void;
  /** Draws the last frame and gives the terminal back. Safe to call twice. */
  finish(): void;
}

export function createView(format: EventFormat, stream: OutputStream, stderr: OutputStream): ProgressView {
  switch (format) {
    case 'json':
      return new JsonLinesView(stream, stderr);
    case 'text':
      return new TextLinesView(stream);
    case 'bars':
      return new ProgressBarsView(stream);
    case 'none':
      return { show: () => undefined, note: (text) => writeLine(stderr, text), finish: () => undefined };
  }
}
