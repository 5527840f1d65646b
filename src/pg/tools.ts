/**
 * Finds PostgreSQL's client tools (pg_dump, pg_dumpall, pg_restore) and runs
 * them the safe way: the password travels in a 0600 passfile named by
 * `PGPASSFILE`, never in argv or the environment; TLS settings go through
 * libpq's own variables, so a tool connects exactly as the library does.
 *
 * @module
 */
import { cancelledError } from '../util/cancellation.js';
import { spawn, execFile } from 'node:child_process';
import { access, constants, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import type { ConnectionConfig } from '../options.js';
import type { Redactor } from '../redact.js';
import { classifyConnectionError, messageOf, SESSION_DEFAULTS_OPTION, type Side } from './connect.js';
import { makeTempDir } from './temp-dirs.js';

const execFileAsync = promisify(execFile);

/** The client tools of one PostgreSQL installation. */
export interface PgTools {
  readonly binDir: string;
  /** pg_dump's major version: it can dump servers up to this major. */
  readonly major: number;
  readonly version: string;
}

const TOOL_NAMES = ['pg_dump', 'pg_dumpall', 'pg_restore'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/**
 * The tools in `binDir`, or else the newest PostgreSQL found in Debian's
 * `/usr/lib/postgresql/<major>/bin` or on `PATH`.
 */
export function findTools(binDir: string | undefined): ResultAsync<PgTools, MigrationError> {
  const candidates = ResultAsync.fromSafePromise(binDir ? Promise.resolve([binDir]) : candidateDirs());
  return candidates.andThen((dirs) =>
    ResultAsync.fromSafePromise(probeAll(dirs)).andThen((found) => {
      const best = found.sort((a, b) => b.major - a.major)[0];
      if (best) return okAsync(best);
      return errAsync(
        migrationError(
          'tool',
          binDir
            ? `pg_dump, pg_dumpall and pg_restore were not all found in ${binDir}`
            : 'PostgreSQL client tools (pg_dump, pg_dumpall, pg_restore) were not found',
          {
            hint: 'Install them (Debian/Ubuntu: apt-get install postgresql-client-17) or pass pgBinDir. Their major must be at least the source server\'s.',
          },
        ),
      );
    }),
  );
}

async function candidateDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const debian = '/usr/lib/postgresql';
  try {
    for (const entry of await readdir(debian)) dirs.push(join(debian, entry, 'bin'));
  } catch {
    // Not a Debian-style installation.
  }
  dirs.push(...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean));
  return dirs;
}

/**
 * The tools in each directory, in the directories' order. A directory whose
 * `pg_dump` is one already seen (`/bin` on a merged-/usr system, symbolic
 * links to one wrapper) is not run again, and the rest run at once: each
 * `pg_dump --version` is a process start, Debian's wrapper a Perl one
 * (~50 ms), and they were most of the fixed cost of a small migration.
 */
async function probeAll(dirs: readonly string[]): Promise<PgTools[]> {
  const seen = new Set<string>();
  const distinct: string[] = [];
  for (const dir of dirs) {
    const binary = await realpath(join(dir, 'pg_dump')).catch(() => null);
    if (binary === null || seen.has(binary)) continue;
    seen.add(binary);
    distinct.push(dir);
  }
  const probed = await Promise.all(distinct.map((dir) => probe(dir)));
  return probed.filter((tools): tools is PgTools => tools !== undefined);
}

async function probe(binDir: string): Promise<PgTools | undefined> {
  try {
    for (const name of TOOL_NAMES) await access(join(binDir, name), constants.X_OK);
    const { stdout } = await execFileAsync(join(binDir, 'pg_dump'), ['--version'], { timeout: 10_000 });
    const match = /(\d+)(?:\.(\d+))?/.exec(stdout);
    if (!match?.[1]) return undefined;
    return { binDir, major: Number(match[1]), version: stdout.trim() };
  } catch {
    return undefined;
  }
}

/** Everything a tool needs to reach one database of one side. */
export interface ToolTarget {
  readonly config: ConnectionConfig;
  readonly side: Side;
  readonly database: string;
  /** Ends the tool (SIGTERM) when it fires: the run is `cancelled`. */
  readonly signal?: AbortSignal | undefined;
}

export interface ToolRun {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one tool against one database. Output beyond `stdout` capture (dumps)
 * goes to files named in `args`. A non-zero exit is a `kind` error carrying the
 * tool's redacted stderr.
 */
export function runTool(
  tools: PgTools,
  name: ToolName,
  args: readonly string[],
  target: ToolTarget,
  redactor: Redactor,
  kind: 'schema' | 'tool' = 'schema',
): ResultAsync<ToolRun, MigrationError> {
  return ResultAsync.fromPromise(withPassfile(target, (env) => spawnTool(join(tools.binDir, name), args, env, target.signal)), (error) =>
    target.signal?.aborted
      ? cancelledError(`${name} for ${target.side} database "${target.database}"`, { database: target.database })
      : migrationError(kind, `${name} could not run for ${target.side} database "${target.database}": ${redactor.scrub(messageOf(error))}`, {
          side: target.side,
          database: target.database,
        }),
  ).andThen(({ code, stdout, stderr }) => {
    if (code === 0) return okAsync({ stdout, stderr: redactor.scrub(stderr) });
    if (target.signal?.aborted) return errAsync(cancelledError(`${name} for ${target.side} database "${target.database}"`, { database: target.database }));
    if (connectionFailed(stderr)) {
      return ResultAsync.fromSafePromise(connectionReason(tools, name, stderr, target)).andThen((reason) =>
        errAsync(toolConnectionError(name, reason, target, redactor)),
      );
    }
    const said = redactor.scrub(stderr.trim()).split('\n').slice(-15).join('\n');
    return errAsync(
      migrationError(kind, `${name} failed for ${target.side} database "${target.database}" (exit ${code}): ${said}`, {
        side: target.side,
        database: target.database,
        cause: { name, message: said },
      }),
    );
  });
}

/** libpq's words for a connection that failed, and pg_dumpall's for one whose reason it dropped. */
const LIBPQ_FAILURE = /connection to server (?:at|on socket) .* failed: |could not connect to (?:database|server)/;

function connectionFailed(stderr: string): boolean {
  return LIBPQ_FAILURE.test(stderr);
}

/**
 * What libpq said about the failed connection. pg_dumpall run with
 * `--database` prints only "could not connect to database" and drops
 * libpq's reason; pg_dump, connecting the same way, tells it.
 */
async function connectionReason(tools: PgTools, name: ToolName, stderr: string, target: ToolTarget): Promise<string> {
  const own = libpqReason(stderr);
  if (own !== undefined || name !== 'pg_dump' && name !== 'pg_dumpall') return own ?? stderr.trim();
  const probe = await withPassfile(target, (env) =>
    spawnTool(join(tools.binDir, 'pg_dump'), ['--schema-only', '--table=pg_catalog.pg_class', '--file=/dev/null'], env, target.signal),
  ).catch(() => undefined);
  return (probe && libpqReason(probe.stderr)) ?? stderr.trim();
}

/** The lines from libpq's "connection to server … failed:" on, without the tool's prefix. */
function libpqReason(stderr: string): string | undefined {
  const lines = stderr.trim().split('\n');
  const first = lines.findIndex((line) => /connection to server (?:at|on socket) .* failed: /.test(line));
  if (first < 0) return undefined;
  return lines
    .slice(first)
    .map((line) => line.replace(/^\S+: error: /, '').trim())
    .join(' ');
}

/**
 * SQLSTATEs and socket codes libpq reports only in words, so that
 * classifyConnectionError sorts a tool's failure as it sorts the library's.
 */
const LIBPQ_CODES: readonly [RegExp, string][] = [
  [/password authentication failed|no password supplied|SASL authentication/i, '28P01'],
  [/no pg_hba\.conf entry/i, '28000'],
  [/database ".*" does not exist/i, '3D000'],
  [/Connection refused/i, 'ECONNREFUSED'],
  [/could not translate host name/i, 'ENOTFOUND'],
  [/timeout expired/i, 'ETIMEDOUT'],
  [/No route to host/i, 'EHOSTUNREACH'],
];

function toolConnectionError(name: ToolName, reason: string, target: ToolTarget, redactor: Redactor): MigrationError {
  const code = LIBPQ_CODES.find(([pattern]) => pattern.test(reason))?.[1];
  const classified = classifyConnectionError(
    { message: reason, ...(code ? { code } : {}) },
    { config: target.config, side: target.side, database: target.database, redactor },
  );
  const said = redactor.scrub(reason);
  const message = classified.message.includes(said) ? `${name}: ${classified.message}` : `${name}: ${classified.message}: ${said}`;
  return { ...classified, message };
}

async function withPassfile<T>(target: ToolTarget, run: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const dir = await makeTempDir();
  try {
    const passfile = join(dir, 'pgpass');
    const { config } = target;
    const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
    await writeFile(
      passfile,
      `${escape(config.host)}:${config.port}:*:${escape(config.username)}:${escape(config.password ?? '')}\n`,
      { mode: 0o600 },
    );
    return await run(toolEnv(target, passfile));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** libpq's environment for one connection; inherited PG* variables are dropped so nothing leaks in. */
function toolEnv({ config, database }: ToolTarget, passfile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  env['PGHOST'] = config.host;
  env['PGPORT'] = String(config.port);
  env['PGUSER'] = config.username;
  env['PGDATABASE'] = database;
  env['PGPASSFILE'] = passfile;
  env['PGSSLMODE'] = config.sslmode;
  env['PGAPPNAME'] = 'datalakehouse-db-migrate';
  env['PGCONNECT_TIMEOUT'] = '15';
  // As for the library's own sessions: the database's or role's timeouts must not cancel the tool's first queries.
  env['PGOPTIONS'] = SESSION_DEFAULTS_OPTION;
  if (config.sslrootcert) env['PGSSLROOTCERT'] = config.sslrootcert;
  if (config.sslcert) env['PGSSLCERT'] = config.sslcert;
  if (config.sslkey) env['PGSSLKEY'] = config.sslkey;
  return env;
}

function spawnTool(
  path: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errOut.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(errOut).toString('utf8'),
      }),
    );
  });
}
