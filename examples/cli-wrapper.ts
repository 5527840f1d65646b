/**
 * `migrate-to-dlh`: an in-house command over the library, with the
 * company's own defaults.
 *
 *   migrate-to-dlh <source-uri> [--databases a,b] [--method dump|auto|replication] [--jobs n] [--yes]
 *
 * - The destination is the company's datalakehouse service: `DLH_TARGET_URI`
 *   (or `--target`).
 * - The company's databases are small, so a one-time dump is the default
 *   method (`--method auto` replicates where it can).
 * - The source's password can stay out of argv and the shell history:
 *   `SRC_PASSWORD` fills in a URI written without one.
 * - It always prints the preflight's plan first, and migrates only with `--yes`.
 *
 * Exit codes: 0 migrated, 1 failed, 2 usage, 3 not confirmed (plan only), 130 cancelled.
 *
 *   npm install datalakehouse-db-migrate
 *   DLH_TARGET_URI=postgres://… SRC_PASSWORD=… npx tsx examples/cli-wrapper.ts postgres://admin@old-db:5432/postgres --yes
 *
 * `main(argv, io)` takes its arguments and streams, so a test runs it in-process.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  METHODS,
  Migrator,
  describeError,
  type MethodOption,
  type MigrationError,
  type MigrationEvent,
  type MigrationStatus,
  type PreflightReport,
} from 'datalakehouse-db-migrate';

/** Where the command writes, and what it reads from its process. */
export interface WrapperIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Cancels the migration (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, notConfirmed: 3, cancelled: 130 } as const;

const USAGE = `Usage: migrate-to-dlh <source-uri> [options]

Migrates the databases of <source-uri> into the company's datalakehouse service (DLH_TARGET_URI).
Prints the plan first; migrates only with --yes.

Options:
  --databases a,b     only these databases (default: every database of the source)
  --method <m>        ${METHODS.join(' | ')} (default: dump)
  --jobs <n>          tables copied at once (default 2)
  --target <uri>      another destination than DLH_TARGET_URI
  -y, --yes           migrate after printing the plan
  -h, --help          this text

Environment:
  DLH_TARGET_URI      the destination service
  SRC_PASSWORD        the source's password, for a <source-uri> written without one
`;

const isMethod = (value: string): value is MethodOption => (METHODS as readonly string[]).includes(value);

export async function main(argv: readonly string[], io: WrapperIo): Promise<number> {
  const out = (line = ''): void => void io.stdout.write(`${line}\n`);
  const err = (line: string): void => void io.stderr.write(`${line}\n`);
  const usage = (message: string): number => {
    err(`migrate-to-dlh: ${message}`);
    err('Run migrate-to-dlh --help for the options.');
    return EXIT.usage;
  };

  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        databases: { type: 'string', multiple: true },
        method: { type: 'string', default: 'dump' },
        jobs: { type: 'string' },
        target: { type: 'string' },
        yes: { type: 'boolean', short: 'y', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // parseArgs throws on an unknown or malformed flag; its message names it.
    return usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || positionals[0] === undefined) return usage('name exactly one source, as a postgres:// URI');
  if (!isMethod(values.method)) return usage(`--method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(values.method)}`);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) return usage(`--jobs must be a positive integer, got ${JSON.stringify(values.jobs)}`);
  const target = values.target ?? io.env['DLH_TARGET_URI'];
  if (!target) return usage('no destination: set DLH_TARGET_URI (or pass --target)');
  const databases = values.databases?.flatMap((list) => list.split(',')).map((name) => name.trim()).filter((name) => name !== '');

  const migrator = new Migrator({
    source: withPassword(positionals[0], io.env['SRC_PASSWORD']),
    target,
    method: values.method,
    ...(databases && databases.length > 0 ? { databases } : {}),
    ...(jobs === undefined ? {} : { jobs }),
  });
  try {
    const signal = io.signal;
    const report = await migrator.preflight(signal ? { signal } : {});
    if (report.isErr()) return failed(report.error, err);
    printPlan(report.value, values.method, out);
    if (!report.value.ok) {
      err('Preflight failed (see above): nothing was migrated.');
      return EXIT.failed;
    }
    if (!values.yes) {
      err('Nothing was migrated. Run again with --yes to migrate the databases above.');
      return EXIT.notConfirmed;
    }

    migrator.on('progress', (event) => {
      const line = progressLine(event);
      if (line) out(line);
    });
    const migrated = await migrator.migrate({ preflight: report.value, ...(signal ? { signal } : {}) });
    if (migrated.isErr()) return failed(migrated.error, err);
    printStatus(migrated.value, out);
    if (migrated.value.databases.some((db) => db.status === 'syncing')) {
      out('Replicating databases keep following the source: once the applications use the destination,');
      out('stop them with `npx datalakehouse-db-migrate stop` (TARGET_SERVICE_URI and SOURCE_SERVICE_URI set as here).');
    }
    return migrated.value.status === 'failed' ? EXIT.failed : EXIT.ok;
  } finally {
    await migrator.close();
  }
}

/** Puts `password` into a URI written without one; the Migrator reports a malformed URI itself. */
function withPassword(uri: string, password: string | undefined): string {
  if (!password) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri;
  }
  if (url.password !== '') return uri;
  url.password = encodeURIComponent(password);
  return url.href;
}

function failed(error: MigrationError, err: (line: string) => void): number {
  err(`error (${error.kind}): ${error.message}`);
  for (const reason of error.reasons ?? []) err(`  - ${reason}`);
  if (error.hint) err(`  hint: ${error.hint}`);
  return error.kind === 'cancelled' ? EXIT.cancelled : error.kind === 'options' ? EXIT.usage : EXIT.failed;
}

function printPlan(report: PreflightReport, method: MethodOption, out: (line?: string) => void): void {
  out(`Source:      PostgreSQL ${report.source.version} as ${report.source.username}${report.source.superuser ? ' (superuser)' : ''}`);
  out(`Destination: PostgreSQL ${report.target.version} as ${report.target.username}${report.target.superuser ? ' (superuser)' : ''}`);
  const notable = report.checks.filter((check) => check.status !== 'pass');
  if (notable.length > 0) {
    out();
    for (const check of notable) {
      out(`${check.status.toUpperCase().padEnd(4)}  ${check.id}${check.database ? ` [${check.database}]` : ''}: ${check.message}`);
      if (check.hint) out(`      fix: ${check.hint}`);
    }
  }
  out();
  out(`Plan (method ${method}):`);
  printTable(
    ['DATABASE', 'METHOD', 'ACTION', 'NOTE'],
    report.databases.map((db) => [db.dbname, db.method ?? '-', db.action, [...db.blockers, ...db.replicationBlockers][0] ?? '']),
    out,
  );
}

function printStatus(status: MigrationStatus, out: (line?: string) => void): void {
  out();
  out(`Migration ${status.status}${status.error ? `: ${status.error}` : ''}`);
  printTable(
    ['DATABASE', 'STATUS', 'METHOD', 'ERROR'],
    status.databases.map((db) => [db.dbname, db.status, db.method, db.error ?? '']),
    out,
  );
}

function printTable(header: readonly string[], rows: readonly (readonly string[])[], out: (line?: string) => void): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  out(line(header));
  for (const row of rows) out(line(row));
}

function progressLine(event: MigrationEvent): string | undefined {
  switch (event.type) {
    case 'database:start':
      return `${event.dbname}: ${event.resumed ? 'resuming' : 'starting'} (${event.method})`;
    case 'table:copied':
      return `${event.dbname}: ${event.tablesDone}/${event.tablesTotal} tables (${event.schema}.${event.table}, ${event.rows} rows)`;
    case 'database:done':
      return `${event.dbname}: ${event.status}${event.error ? ` (${event.error})` : ''} in ${(event.durationMs / 1000).toFixed(1)} s`;
    case 'warning':
      return `warning${event.dbname ? ` [${event.dbname}]` : ''}: ${event.message}${event.hint ? ` (${event.hint})` : ''}`;
    default:
      return undefined;
  }
}

// Run as a program: Ctrl-C cancels the migration, which cleans up what it had not finished.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
}
