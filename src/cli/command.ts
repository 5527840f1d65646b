/**
 * What a CLI command is: a name, its own options, and a call on the
 * {@link Migrator} whose result it renders as JSON and as text. A new
 * command (say `verify`) is one such object in `commands/`, listed in
 * `commands/index.ts`; parsing, output, Ctrl-C and exit codes are shared.
 *
 * @module
 */
import type { Command, OptionValues } from 'commander';
import type { ResultAsync } from 'neverthrow';
import type { MigrationError, Migrator } from '../index.js';
import type { ExitCode } from './exit-codes.js';

export interface CommandContext {
  readonly migrator: Migrator;
  /** Fires on Ctrl-C: pass it to the library call. */
  readonly signal: AbortSignal;
  /** The command's own options, as its `configure` declared them. */
  readonly options: OptionValues;
}

/** A command's answer, printed as JSON or text as the output plan says. */
export interface CommandOutcome {
  readonly exitCode: ExitCode;
  readonly json: unknown;
  readonly text: string;
}

export interface CliCommand {
  readonly name: string;
  /** One line for the command list. */
  readonly description: string;
  /** Emits events while it runs: a pipe then gets them as JSON lines unless `--log-format text`. */
  readonly reportsProgress: boolean;
  /** Declares the command's own options and help text. */
  configure?(command: Command): void;
  run(context: CommandContext): ResultAsync<CommandOutcome, MigrationError>;
}
