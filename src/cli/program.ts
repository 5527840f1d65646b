/**
 * The command line: global options, the commands, help and usage errors
 * (commander). Returns the exit code; printing goes to the streams given.
 *
 * @module
 */
import { Command, CommanderError, type OptionValues } from 'commander';
import { COMMANDS } from './commands/index.js';
import { ExitCode } from './exit-codes.js';
import { addGlobalOptions, type GlobalFlags } from './global-options.js';
import type { CliIo } from './io.js';
import { runCommand } from './run-command.js';
import { scrubUriPasswords } from './scrub.js';

export const PROGRAM_NAME = 'datalakehouse-db-migrate';

const AFTER_HELP = `
Environment:
  SOURCE_SERVICE_URI, TARGET_SERVICE_URI   the clusters as postgres:// URIs
  SRC_HOSTNAME, SRC_PORT, SRC_DATABASE,    the source as fields (the migration guide's names);
  SRC_USERNAME, SRC_PASSWORD, SRC_SSL      SRC_SSL is true, false or an sslmode
  DEST_HOSTNAME, DEST_PORT, ... DEST_SSL   the destination alike
  A --source/--target flag wins over SOURCE_/TARGET_SERVICE_URI, which wins over the fields.
  SRC_PASSWORD/DEST_PASSWORD also fill in the password of a URI written without one.
  Prefer the environment for passwords: arguments are visible to every user of this machine.

Exit codes:
  0 success, 1 something did not migrate (or a check failed), 2 usage error,
  3 cannot connect/authenticate, 4 another migration is running, 5 stop refused,
  70 internal error, 130 cancelled (Ctrl-C)

Examples:
  export SOURCE_SERVICE_URI='postgres://admin@old.example.com:5432/postgres?sslmode=require'
  export TARGET_SERVICE_URI='postgres://avnadmin@new.example.com:5432/defaultdb?sslmode=require'
  export SRC_PASSWORD=... DEST_PASSWORD=...
  ${PROGRAM_NAME} preflight
  ${PROGRAM_NAME} migrate --databases shop,billing
  ${PROGRAM_NAME} status --json
  ${PROGRAM_NAME} stop`;

const COMMAND_AFTER_HELP = `
The clusters come from --source/--target, SOURCE_SERVICE_URI/TARGET_SERVICE_URI, or the
SRC_*/DEST_* fields (see ${PROGRAM_NAME} --help). Prefer the environment for passwords:
arguments are visible to every user of this machine.`;

/** Parses `argv` (without node and the script) and runs the command; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = new Command(PROGRAM_NAME)
    .description('Migrate whole PostgreSQL clusters into datalakehouse for PostgreSQL: preflight, roles and schema, then logical replication or dump and restore per database.')
    .version(version)
    // Settings that the commands below copy when they are added.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(scrubUriPasswords(text)),
    })
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  addGlobalOptions(program);
  program.addHelpText('after', AFTER_HELP);

  for (const spec of COMMANDS) {
    const command = program.command(spec.name).description(spec.description);
    spec.configure?.(command);
    command.addHelpText('after', COMMAND_AFTER_HELP);
    command.action(async (own: OptionValues, self: Command) => {
      exitCode = await runCommand(spec, self.optsWithGlobals<GlobalFlags>(), own, io);
    });
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // --help and --version end with 0; everything else commander refuses is a usage error.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw error;
  }
  return exitCode;
}
