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
import { closeConnection, connectionLost, isConnectionLoss, messageOf, openConnection, toCause, type Connection } from '../pg/connect.js';
import { cancelledError } from '../util/cancellation.js';
import { splitStatements } from './sql-statements.js';
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
    // With --create, the database's own properties too, which only a restore that asks for them gets.
    const args = ['--schema-only', '--create', '--format=custom', '--encoding=UTF8', '--no-subscriptions', `--file=${dump.file}`, `--dbname=${dbnameArg(source.database)}`];
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
  /** The section's script ({@link readSectionScript}), when the caller reads it anyway: the dump is then read once. */
  readonly script?: Promise<string>;
}

/**
 * The script pg_restore writes for one section of `dump`, with each item's
 * header (`--verbose`: its id and dependencies), and without owners and
 * privileges when `noOwner`. Reads the dump only.
 */
export function readSectionScript(tools: PgTools, dump: SchemaDump, section: 'pre-data' | 'post-data', noOwner: boolean): Promise<string> {
  return readArchive(tools, [`--section=${section}`, ...(noOwner ? ['--no-owner', '--no-privileges'] : []), '--verbose', '--file=-', dump.file]);
}

/**
 * Restores one section; any failing statement fails the restore, and
 * nothing of the section stays (`--single-transaction --exit-on-error`).
 *
 * The pre-data section is sent as one multi-statement query: the script
 * `pg_restore` writes for it (the very statements it would run), in one
 * round trip and one transaction, as `--single-transaction` has it.
 * `pg_restore` itself sends a statement at a time: 2,000 tables' pre-data
 * took it 0.71-0.73 s on loopback against 0.44-0.45 s as one query, and
 * ~10 s with 2 ms round trips. When the query fails (nothing of it stayed),
 * `pg_restore` runs the section again, so that a failure is reported by the
 * statement that failed, as before.
 */
export function restoreSection(
  tools: PgTools,
  dump: SchemaDump,
  target: ToolTarget,
  options: RestoreOptions,
  redactor: Redactor,
): ResultAsync<void, MigrationError> {
  const selection = [`--section=${options.section}`, ...(options.noOwner ? ['--no-owner', '--no-privileges'] : [])];
  const leaveOut = options.leaveOutExtensions ?? [];
  const whole = options.section === 'pre-data' ? (options.script ?? readSectionScript(tools, dump, 'pre-data', options.noOwner)) : undefined;
  // Settled before anything else reads the dump or returns, so that no tool outlives the call.
  const wholeRead = (): Promise<unknown> => whole?.catch(() => undefined) ?? Promise.resolve();
  // The whole section's script names every item it restores: only when it has one of those extensions is a list
  // without them written and the script read again by it (a dump that cannot be read goes that way too, and fails there).
  const leavesOut = leaveOut.length > 0 && (!whole || whole.then((text) => namesExtension(text, leaveOut), () => true));
  const listed = ResultAsync.fromSafePromise(Promise.resolve(leavesOut)).andThen((needed) => (needed ? listWithout(tools, dump, leaveOut) : okAsync<string | null, MigrationError>(null)));
  const afterWhole = listed.orElse((error) => ResultAsync.fromSafePromise(wholeRead()).andThen(() => errAsync(error)));
  // Parallel restore runs each item in its own transaction; pre-data is a dependency chain anyway.
  const transaction = options.section === 'post-data' && options.jobs > 1 ? [`--jobs=${options.jobs}`] : ['--single-transaction'];
  const chosen = (list: string | null): string[] => [...selection, ...(list ? [`--use-list=${list}`] : [])];
  const byTool = (list: string | null): ResultAsync<void, MigrationError> =>
    runTool(tools, 'pg_restore', [...chosen(list), '--exit-on-error', ...transaction, `--dbname=${dbnameArg(target.database)}`, dump.file], target, redactor).map(() => undefined);
  if (options.section !== 'pre-data') return afterWhole.andThen(byTool);
  let list: string | null = null;
  const reading = afterWhole.andThen((decided) => {
    list = decided;
    const script = decided || !whole ? wholeRead().then(() => readArchive(tools, [...chosen(decided), '--file=-', dump.file])) : whole;
    return ResultAsync.fromPromise(script, (): MigrationError | null => null);
  });
  return restoreAtOnce(reading, target, redactor).orElse((error) => (error === null ? byTool(list) : errAsync(error)));
}

/**
 * Whether a pg_restore script has an item of one of `extensions`: the
 * extension, or its comment. Each item's header names it, as pg_restore's
 * list does (`-- Name: x; Type: EXTENSION;`, `-- Name: EXTENSION x; Type:
 * COMMENT;`); a line like it inside a statement can only make this say yes.
 */
export function namesExtension(script: string, extensions: readonly string[]): boolean {
  const names = new Set(extensions);
  for (const [, comment, name, type] of script.matchAll(/^-- Name: (EXTENSION )?(.*?); Type: (EXTENSION|COMMENT); Schema: /gm)) {
    if ((type === 'EXTENSION') === (comment !== undefined)) continue;
    if (names.has(name as string) || names.has(unquoted(name as string))) return true;
  }
  return false;
}

/** An extension's name as a comment's tag has it: quoted when it needs to be (`"uuid-ossp"`). */
function unquoted(name: string): string {
  const quoted = /^"((?:[^"]|"")*)"$/.exec(name);
  return quoted ? (quoted[1] as string).replaceAll('""', '"') : name;
}

/**
 * Runs the section's script as one query on a connection of its own. Fails
 * with `null` when the server refused it (the caller asks `pg_restore`, which
 * names the statement), with the error itself when the run was cancelled or
 * the connection lost.
 */
function restoreAtOnce(reading: ResultAsync<string, MigrationError | null>, target: ToolTarget, redactor: Redactor): ResultAsync<void, MigrationError | null> {
  // Settled before returning, so that no tool outlives the call.
  const settled = (): ResultAsync<void, never> => ResultAsync.fromSafePromise(reading.then(() => undefined));
  if (target.signal?.aborted) return settled().andThen(() => errAsync(cancelledError(`Restoring the pre-data schema of "${target.database}"`, { database: target.database })));
  // The session opens while pg_restore writes the script.
  const connecting = openConnection(target.config, target.side, target.database, redactor, { max: 1, single: true, typeless: true }).orElse((error) =>
    settled().andThen(() => errAsync(error)),
  );
  const script = reading.orElse((error) => connecting.andThen((connection) => ResultAsync.fromSafePromise(closeConnection(connection))).andThen(() => errAsync(error)));
  return script.andThen((text) =>
    connecting.andThen((connection) => {
      const close = (): void => void closeConnection(connection);
      // A signal that fired while the script was written stops the restore before it sends anything.
      if (target.signal?.aborted) {
        return ResultAsync.fromSafePromise(closeConnection(connection)).andThen(() =>
          errAsync(cancelledError(`Restoring the pre-data schema of "${target.database}"`, { database: target.database })),
        );
      }
      target.signal?.addEventListener('abort', close, { once: true });
      return ResultAsync.fromPromise(connection.sql.unsafe(splitStatements(text).join('\n')).simple(), (error) => {
        if (target.signal?.aborted) return cancelledError(`Restoring the pre-data schema of "${target.database}"`, { database: target.database });
        if (isConnectionLoss(error)) return connectionLost(`Restoring the pre-data schema of "${target.database}"`, toCause(error, redactor), { side: target.side, database: target.database });
        return null;
      })
        .andThen(() => ResultAsync.fromSafePromise(finish(connection, close, target.signal)))
        .orElse((error) => ResultAsync.fromSafePromise(finish(connection, close, target.signal)).andThen(() => errAsync(error)));
    }),
  );
}

async function finish(connection: Connection, close: () => void, signal: AbortSignal | undefined): Promise<void> {
  signal?.removeEventListener('abort', close);
  await closeConnection(connection);
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
      // `id; catalog oid EXTENSION - name owner` and `id; 0 0 COMMENT - EXTENSION name owner`, where a comment's
      // name is quoted when it needs to be (`EXTENSION "uuid-ossp"`).
      const leftOut = (line: string): boolean => {
        const entry = /^\d+; \d+ \d+ (?:EXTENSION - |COMMENT - EXTENSION )("(?:[^"]|"")*"|\S+)/.exec(line);
        return entry !== null && names.has(unquoted(entry[1] as string));
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
