/**
 * Runs one command over the library: builds the {@link Migrator}, shows its
 * events, turns Ctrl-C into the call's AbortSignal (a second Ctrl-C quits
 * at once), prints the outcome, and closes every connection.
 *
 * @module
 */
import type { OptionValues } from 'commander';
import { Migrator, type MigrationError } from '../index.js';
import type { CliCommand, CommandOutcome } from './command.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { toMigratorOptions, type GlobalFlags } from './global-options.js';
import { writeLine, type CliIo } from './io.js';
import { planOutput, type OutputPlan } from './output-plan.js';
import { createView } from './progress/view.js';
import { renderError } from './render/error-text.js';

export async function runCommand(command: CliCommand, flags: GlobalFlags, own: OptionValues, io: CliIo): Promise<ExitCode> {
  const plan = planOutput({
    json: flags.json === true,
    logFormat: flags.logFormat,
    stdoutIsTTY: io.stdout.isTTY === true,
    stderrIsTTY: io.stderr.isTTY === true,
    reportsProgress: command.reportsProgress,
  });
  const options = toMigratorOptions(flags, io.env);
  if (options.isErr()) return printError(options.error, plan, io);

  const migrator = new Migrator(options.value);
  const view = createView(plan.events.format, plan.events.stream === 'stdout' ? io.stdout : io.stderr, io.stderr);
  migrator.on('progress', (event) => view.show(event));
  const controller = new AbortController();
  let interrupts = 0;
  const stopListening = io.onInterrupt(() => {
    interrupts += 1;
    if (interrupts === 1) {
      view.note('Cancelling: removing what this run left unfinished (Ctrl-C again to quit at once)...');
      controller.abort();
    } else {
      view.finish();
      io.exitNow(ExitCode.cancelled);
    }
  });
  try {
    const result = await command.run({ migrator, signal: controller.signal, options: own });
    view.finish();
    return result.isOk() ? printOutcome(result.value, plan, io) : printError(result.error, plan, io);
  } catch (error) {
    // The library never throws; this is the CLI's own defect.
    view.finish();
    writeLine(io.stderr, `error (internal): ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.internal;
  } finally {
    stopListening();
    await migrator.close();
  }
}

function printOutcome(outcome: CommandOutcome, plan: OutputPlan, io: CliIo): ExitCode {
  writeLine(io.stdout, plan.result === 'json' ? toJson(outcome.json, plan) : outcome.text);
  return outcome.exitCode;
}

/** To stderr for a person; as the result too when stdout carries JSON, so a reader of the pipe learns why. */
function printError(error: MigrationError, plan: OutputPlan, io: CliIo): ExitCode {
  writeLine(io.stderr, renderError(error));
  if (plan.result === 'json') writeLine(io.stdout, toJson({ error }, plan));
  return exitCodeFor(error.kind);
}

function toJson(value: unknown, plan: OutputPlan): string {
  return plan.compact ? JSON.stringify(value) : JSON.stringify(value, null, 2);
}
