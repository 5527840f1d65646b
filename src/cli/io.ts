/**
 * What the CLI needs from its process, handed in by the entry point so
 * that everything else writes to streams it is given and never touches
 * `process` itself.
 *
 * @module
 */

/** A stream the CLI writes to: stdout, stderr, or a test's buffer. */
export interface OutputStream extends NodeJS.WritableStream {
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Calls `listener` on every Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(listener: () => void): () => void;
  /** Ends the process at once with `code`, for a second Ctrl-C. */
  exitNow(code: number): void;
}

/** Writes one line. */
export function writeLine(stream: OutputStream, text = ''): void {
  stream.write(`${text}\n`);
}
