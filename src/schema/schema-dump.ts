/**
 * The schema of one database as pg_dump sees it, in a private temporary
 * directory, restored in sections: `pre-data` (types, tables, functions)
 * before the data and `post-data` (indexes, constraints, triggers) after.
 * Publications and subscriptions are never copied: the migration makes its
 * own, and a copied subscription would start replicating from somewhere else.
 */
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import { conninfoValue } from '../pg/identifiers.js';
import { makeTempDir } from '../pg/temp-dirs.js';
import { runTool, type PgTools, type ToolTarget } from '../pg/tools.js';
import type { Redactor } from '../redact.js';
import { messageOf } from '../pg/connect.js';
import { readArchive } from './read-archive.js';
import { exactPattern } from '../selection/unselected-tables.js';

export interface SchemaDump {
  readonly file: string;
  /** Removes the dump; safe to call more than once. */
  dispose(): Promise<void>;
}

/** `dbname='…'`: a database name passed as a connection string, so no name is ever read as one. */
export function dbnameArg(database: string): string {
  return `dbname=${conninfoValue(database)}`;
}

/** What the dump leaves out: tables a selection drops (`schema`, `name`), and whole schemas. */
export interface DumpExclusions {
  readonly tables: readonly { readonly schema: string; readonly name: string }[];
  readonly schemas: readonly string[];
}

export function dumpSchema(tools: PgTools, source: ToolTarget, redactor: Redactor, exclusions?: DumpExclusions): ResultAsync<SchemaDump, MigrationError> {
  return ResultAsync.fromPromise(makeTempDir('schema'), (error) =>
    migrationError('tool', `Cannot create a temporary directory for the schema dump: ${messageOf(error)}`),
  ).andThen((dir) => {
    const dump: SchemaDump = {
      file: join(dir, 'schema.dump'),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
    // In UTF-8 whatever the database's encoding: the post-data plan reads pg_restore's script as UTF-8.
    const args = ['--schema-only', '--format=custom', '--encoding=UTF8', '--no-publications', '--no-subscriptions', `--file=${dump.file}`, `--dbname=${dbnameArg(source.database)}`];
    for (const table of exclusions?.tables ?? []) args.push(`--exclude-table=${exactPattern(table.schema, table.name)}`);
    for (const schema of exclusions?.schemas ?? []) args.push(`--exclude-schema=${exactPattern(schema)}`);
    return runTool(tools, 'pg_dump', args, source, redactor)
      .map(() => dump)
      .orElse((error) => ResultAsync.fromSafePromise(dump.dispose()).andThen(() => errAsync(error)));
  });
}

export interface RestoreOptions {
  readonly section: 'pre-data' | 'post-data';
  /** Leave ownership and privileges to the destination user: some owning roles are missing there. */
  readonly noOwner: boolean;
  readonly jobs: number;
  /** Extensions not to create (with their comments). */
  readonly leaveOutExtensions?: readonly string[];
}

/** Restores one section; any failing statement fails the restore (`--exit-on-error`). */
export function restoreSection(
  tools: PgTools,
  dump: SchemaDump,
  target: ToolTarget,
  options: RestoreOptions,
  redactor: Redactor,
): ResultAsync<void, MigrationError> {
  const args = [`--section=${options.section}`, '--exit-on-error', `--dbname=${dbnameArg(target.database)}`];
  if (options.noOwner) args.push('--no-owner', '--no-privileges');
  // Parallel restore runs each item in its own transaction; pre-data is a dependency chain anyway.
  if (options.section === 'post-data' && options.jobs > 1) args.push(`--jobs=${options.jobs}`);
  else args.push('--single-transaction');
  const leaveOut = options.leaveOutExtensions ?? [];
  const listed = leaveOut.length === 0 ? okAsync<string | null, MigrationError>(null) : listWithout(tools, dump, leaveOut);
  return listed.andThen((list) =>
    runTool(tools, 'pg_restore', [...args, ...(list ? [`--use-list=${list}`] : []), dump.file], target, redactor).andThen(() => okAsync(undefined)),
  );
}

/**
 * The archive's table of contents without the given extensions and their
 * comments, written next to the dump for `--use-list`; `null` when the
 * archive has none of them.
 */
function listWithout(tools: PgTools, dump: SchemaDump, extensions: readonly string[]): ResultAsync<string | null, MigrationError> {
  return ResultAsync.fromPromise(
    (async () => {
      const listing = await readArchive(tools, ['--list', dump.file]);
      const names = new Set(extensions);
      // `id; catalog oid EXTENSION - name owner` and `id; 0 0 COMMENT - EXTENSION name owner`.
      const leftOut = (line: string): boolean => {
        const entry = /^\d+; \d+ \d+ (?:EXTENSION - |COMMENT - EXTENSION )(\S+)/.exec(line);
        return entry !== null && names.has(entry[1] as string);
      };
      const lines = listing.split('\n');
      if (!lines.some(leftOut)) return null;
      const file = join(dirname(dump.file), 'restore.list');
      await writeFile(file, lines.filter((line) => !leftOut(line)).join('\n'), { mode: 0o600 });
      return file;
    })(),
    (error) => migrationError('tool', `Reading the schema dump's contents failed: ${messageOf(error)}`),
  );
}
