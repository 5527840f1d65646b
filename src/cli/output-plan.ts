/**
 * Where a command's result and its progress go. stdout carries the result;
 * progress goes to stderr, except as JSON lines, which share stdout with
 * the result (its last line) so one pipe holds the whole story.
 *
 * @module
 */
import type { LogFormat } from './global-options.js';

export type EventFormat = 'bars' | 'text' | 'json' | 'none';

export interface OutputPlan {
  /** The result as a JSON document, or as text (tables). */
  readonly result: 'json' | 'text';
  /** JSON on one line (the last of a JSON-lines stream) or indented (a document of its own). */
  readonly compact: boolean;
  readonly events: { readonly stream: 'stdout' | 'stderr'; readonly format: EventFormat };
}

export interface OutputWishes {
  readonly json: boolean;
  /** As given on the command line, if it was. */
  readonly logFormat: LogFormat | undefined;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /**
   * Commands that report progress show it (as JSON lines on a pipe by
   * default); the others print only their result unless JSON lines are asked for.
   */
  readonly reportsProgress: boolean;
}

export function planOutput(wishes: OutputWishes): OutputPlan {
  const logFormat = wishes.logFormat ?? (wishes.json || wishes.stdoutIsTTY || !wishes.reportsProgress ? 'text' : 'json');
  const textFormat: EventFormat = !wishes.reportsProgress ? 'none' : wishes.stderrIsTTY && (wishes.json || wishes.stdoutIsTTY) ? 'bars' : 'text';
  if (wishes.json) return { result: 'json', compact: false, events: { stream: 'stderr', format: logFormat === 'json' ? 'json' : textFormat } };
  if (logFormat === 'json') return { result: 'json', compact: true, events: { stream: 'stdout', format: 'json' } };
  return { result: 'text', compact: false, events: { stream: 'stderr', format: textFormat } };
}
