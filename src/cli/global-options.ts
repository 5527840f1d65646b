/**
 * The options every command takes: the two clusters, what to migrate, and
 * how to print. They turn into the library's {@link MigratorOptions}, which
 * the library itself validates.
 *
 * @module
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { err, ok, type Result } from 'neverthrow';
import type { MethodOption, MigrationError, MigratorOptions } from '../index.js';
import { resolveConnection } from './connection-env.js';

export type LogFormat = 'text' | 'json';

/** The global flags as commander parses them. */
export interface GlobalFlags {
  readonly source?: string;
  readonly target?: string;
  readonly method?: MethodOption;
  readonly databases?: readonly string[];
  readonly ignoreDatabases?: readonly string[];
  readonly jobs?: number;
  readonly json?: boolean;
  readonly logFormat?: LogFormat;
}

const METHODS: readonly MethodOption[] = ['auto', 'replication', 'dump'];

export function addGlobalOptions(program: Command): void {
  program
    .option('--source <uri>', 'source cluster as a postgres:// URI (default: $SOURCE_SERVICE_URI, or $SRC_HOSTNAME and the other SRC_* variables)')
    .option('--target <uri>', 'destination cluster as a postgres:// URI (default: $TARGET_SERVICE_URI, or $DEST_HOSTNAME and the other DEST_* variables)')
    .addOption(new Option('--method <method>', 'auto (default): replication where possible, dump elsewhere; or one method only').choices(METHODS))
    .option('--databases <names>', 'only these databases, comma-separated (default: every non-template database)', nameList)
    .option('--ignore-databases <names>', 'never these databases, comma-separated', nameList)
    .option('--jobs <n>', 'tables copied at once (default: 2)', positiveInteger)
    .option('--json', 'print the result as one JSON document (status: the service response)')
    .addOption(new Option('--log-format <format>', 'progress as text (bars on a terminal) or JSON lines (default: text on a terminal, json otherwise)').choices(['text', 'json']));
}

/** The options for the library, or a usage error. Never echoes a value: a URI may hold a password. */
export function toMigratorOptions(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>): Result<MigratorOptions, MigrationError> {
  const source = resolveConnection('source', flags.source, env);
  if (source.isErr()) return err(source.error);
  const target = resolveConnection('target', flags.target, env);
  if (target.isErr()) return err(target.error);
  return ok({
    source: source.value,
    target: target.value,
    ...(flags.method !== undefined && { method: flags.method }),
    ...(flags.databases !== undefined && { databases: flags.databases }),
    ...(flags.ignoreDatabases !== undefined && { ignoreDatabases: flags.ignoreDatabases }),
    ...(flags.jobs !== undefined && { jobs: flags.jobs }),
  });
}

/** `a,b` (and repeated flags) as a list of names. */
function nameList(value: string, previous: readonly string[] | undefined): readonly string[] {
  return [...(previous ?? []), ...value.split(',').map((name) => name.trim()).filter((name) => name !== '')];
}

function positiveInteger(value: string): number {
  const number = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError('Expected a positive whole number, e.g. 4.');
  return number;
}
