/**
 * Turns what a caller passes (a connection URI, or the migration guide's fields)
 * into one normalised shape, and checks the rest of the options once, up front.
 *
 * @module
 */
import { parseTableName, type TableName } from './selection/table-names.js';
import { parse } from 'pg-connection-string';
import { err, ok, type Result } from 'neverthrow';
import { migrationError, type MigrationError } from './errors.js';
import { checkKeys, isArray, isRecord, kindOf, OptionIssues, readProperty, UNREADABLE } from './option-issues.js';
import { closestName } from './util/did-you-mean.js';
import { readUriQuery } from './uri-query.js';

/** libpq's `sslmode`, honoured identically by every connection and every tool we start. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * A connection given as fields: the migration guide's `SRC_HOSTNAME`, `SRC_PORT`,
 * `SRC_DATABASE`, `SRC_USERNAME`, `SRC_PASSWORD` and `SRC_SSL`.
 */
export interface ConnectionFields {
  readonly host: string;
  readonly port?: number | string;
  /** The database to connect to for cluster-wide work; default `postgres`. */
  readonly database?: string;
  /** Default `postgres`. */
  readonly username?: string;
  readonly password?: string;
  /** An sslmode, or `true` (= `require`) / `false` (= `disable`). Default `prefer`, as in libpq. */
  readonly ssl?: SslMode | boolean;
  /** File with the CA certificate(s) for `verify-ca` / `verify-full`. */
  readonly sslrootcert?: string;
  /** Client certificate and key files, for certificate authentication. */
  readonly sslcert?: string;
  readonly sslkey?: string;
}

/** A connection URI (`postgres://user:secret@host:5432/db?sslmode=require`) or its fields. */
export type ConnectionInput = string | ConnectionFields;

/** How a database's data is moved. */
export type MethodOption = 'auto' | 'replication' | 'dump';

/**
 * The options of a {@link Migrator}. Every one is checked up front: a wrong
 * type, an unknown key or a contradiction is an `options` error naming the field.
 *
 * ### Examples
 * ```ts
 * const options: MigratorOptions = {
 *   source: process.env.SOURCE_SERVICE_URI!,
 *   target: { host: 'pg.example.com', port: 25060, database: 'defaultdb', username: 'avnadmin', password: secret, ssl: 'require' },
 *   databases: ['shop', { source: 'legacy', target: 'legacy_archive' }],
 *   tables: { exclude: ['audit_log'] },
 *   jobs: 4,
 * };
 * ```
 */
export interface MigratorOptions {
  /** The cluster to migrate from. */
  readonly source: ConnectionInput;
  /** The destination service. Its database (default `postgres`) also keeps the migration's state. */
  readonly target: ConnectionInput;
  /**
   * `auto` (default): logical replication where every precondition holds, dump
   * and restore elsewhere. `replication` or `dump`: that method only; a database
   * that cannot use it fails with the reasons.
   */
  readonly method?: MethodOption;
  /**
   * Only these databases (default: every non-template database on the source
   * that accepts connections). Must not be empty, and must not name a database
   * that is also in `ignoreDatabases`. An entry `{ source: 'shop', target:
   * 'shop_test_42' }` copies a database into a destination database of
   * another name: status, events and the other methods then name it by its
   * destination name.
   */
  readonly databases?: readonly (string | DatabaseRename)[];
  /** Never these databases. */
  readonly ignoreDatabases?: readonly string[];
  /**
   * Which tables to migrate, by name: `table` (in any schema),
   * `schema.table`, or `database.schema.table` (that source database only);
   * unquoted parts are folded to lower case, double-quoted ones kept as
   * written (`'"Sales"."Q1"'`). `include`, where it names any table of a
   * database, keeps only those; `exclude` leaves tables out. A partitioned
   * table brings its partitions, at every level; a partition named alone
   * brings its partitioned ancestors' definitions (without their other
   * partitions). Applies to both methods: the schema, the rows, the
   * publication and verify(). A name that matches no table, or a selection
   * leaving out what a kept object needs (a table a foreign key, view or
   * inheriting table uses; a type in an excluded schema), is a failing
   * preflight check.
   */
  readonly tables?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] };
  /** Schemas left out: their tables, and every other object in them. */
  readonly excludeSchemas?: readonly string[];
  /** Roles not copied to the destination (objects they own are restored owned by the destination user). */
  readonly excludeRoles?: readonly string[];
  /**
   * Extensions the destination need not offer: not created there, and not a
   * failing check when it lacks them (objects that depend on them then fail
   * to restore, and are reported).
   */
  readonly excludeExtensions?: readonly string[];
  /** Directory holding pg_dump, pg_dumpall and pg_restore; by default the newest found on this machine. */
  readonly pgBinDir?: string;
  /** Tables copied at once by the dump method (default 2). */
  readonly jobs?: number;
  /** How long a replicated database may take to reach `syncing` before it fails (default 6 hours). */
  readonly syncTimeoutMs?: number;
  /** How often replication progress is polled (default 500 ms). */
  readonly pollIntervalMs?: number;
  /**
   * Fill destination databases that already hold user objects instead of
   * refusing them with `target-not-empty` (default `false`).
   */
  readonly allowNonEmptyTarget?: boolean;
  /**
   * Migrate to a destination of an older PostgreSQL major than the source
   * (default `false`: refused). The schema dump of the newer server may hold
   * what the older cannot restore; that then fails per database, reported.
   */
  readonly allowOlderTarget?: boolean;
  /**
   * Replication whose lag passes this many bytes is reported failed
   * (a positive integer; default 1 GiB = 1073741824).
   */
  readonly maxLagBytes?: number;
  /**
   * How long `stop()` waits for the destination to apply everything the
   * source had written when stop began (milliseconds; default 300000 = 5 minutes).
   */
  readonly stopTimeoutMs?: number;
}

/**
 * A database copied into a destination database of another name.
 *
 * ### Examples
 * ```ts
 * new Migrator({ source, target, databases: [{ source: 'shop', target: 'shop_test_42' }] });
 * ```
 */
export interface DatabaseRename {
  readonly source: string;
  readonly target: string;
}

/** The destination name of source database `source`. */
export function targetNameOf(options: Pick<NormalizedOptions, 'renames'>, source: string): string {
  return options.renames.get(source) ?? source;
}

/** A connection after normalisation: every field known, the password kept apart from anything printable. */
export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  readonly password: string | undefined;
  readonly sslmode: SslMode;
  readonly sslrootcert: string | undefined;
  readonly sslcert: string | undefined;
  readonly sslkey: string | undefined;
}

/** The options after normalisation and validation: every default filled in, field names as in {@link MigratorOptions}. */
export interface NormalizedOptions {
  readonly source: ConnectionConfig;
  readonly target: ConnectionConfig;
  readonly method: MethodOption;
  /** Source database names; those copied under another name are in {@link renames}. */
  readonly databases: readonly string[] | undefined;
  /** Source database name → the destination database it is copied into, where they differ. */
  readonly renames: ReadonlyMap<string, string>;
  readonly ignoreDatabases: readonly string[];
  readonly excludeRoles: readonly string[];
  readonly excludeExtensions: readonly string[];
  /** The tables option, parsed; both lists empty when absent. */
  readonly tables: { readonly include: readonly TableName[]; readonly exclude: readonly TableName[] };
  readonly excludeSchemas: readonly string[];
  readonly pgBinDir: string | undefined;
  readonly jobs: number;
  readonly syncTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly allowNonEmptyTarget: boolean;
  readonly allowOlderTarget: boolean;
  readonly maxLagBytes: number;
  readonly stopTimeoutMs: number;
}

type Side = 'source' | 'target';

const OPTION_KEYS: readonly (keyof MigratorOptions)[] = [
  'source',
  'target',
  'method',
  'databases',
  'ignoreDatabases',
  'tables',
  'excludeSchemas',
  'excludeRoles',
  'excludeExtensions',
  'pgBinDir',
  'jobs',
  'syncTimeoutMs',
  'pollIntervalMs',
  'allowNonEmptyTarget',
  'allowOlderTarget',
  'maxLagBytes',
  'stopTimeoutMs',
];
const FIELD_KEYS: readonly (keyof ConnectionFields)[] = ['host', 'port', 'database', 'username', 'password', 'ssl', 'sslrootcert', 'sslcert', 'sslkey'];
/** Names other tools use for the same fields. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  hostname: 'host',
  user: 'username',
  dbname: 'database',
  db: 'database',
  sslmode: 'ssl',
  pass: 'password',
};
/**
 * Every value of the `method` option, `'auto'` first (the default).
 *
 * ### Examples
 * ```ts
 * import { METHODS, type MethodOption } from 'datalakehouse-db-migrate';
 *
 * // Validating a `--method` flag of a wrapping CLI:
 * const isMethod = (value: string): value is MethodOption => (METHODS as readonly string[]).includes(value);
 * ```
 */
export const METHODS: readonly MethodOption[] = Object.freeze(['auto', 'replication', 'dump']);

const SIX_HOURS = 6 * 60 * 60 * 1000;
const ONE_GIB = 1024 * 1024 * 1024;
const FIVE_MINUTES = 5 * 60 * 1000;
/** Node's timers fire at once for a longer delay, so a longer interval would poll without pause. */
const MAX_TIMER_MS = 2_147_483_647;
/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), so no database can have a longer name. */
const MAX_NAME_BYTES = 63;
/** More names than any cluster holds; a longer list is a mistake, and reading it could take forever. */
const MAX_LIST_LENGTH = 100_000;
const CONNECTION_HINT = "Use a URI 'postgres://user:password@host:5432/db?sslmode=require' or { host, port, database, username, password, ssl }.";

/**
 * Validates and normalises the options of a {@link Migrator}. Takes anything
 * (options often come from plain JavaScript or parsed configuration) and
 * never throws: any problem is an `options` error whose message names the
 * field (`options.databases[1] must be a string, got number`), with a hint;
 * when there are several, `reasons` lists them all.
 *
 * ### Examples
 * ```ts
 * const options = normalizeOptions({ source: 'postgres://u:pw@old/postgres', target: 'postgres://u:pw@new/postgres', databse: ['app'] });
 * // err: { kind: 'options', message: 'options.databse is not an option; did you mean databases?', ... }
 * ```
 */
export function normalizeOptions(input: unknown): Result<NormalizedOptions, MigrationError> {
  try {
    return validateOptions(input);
  } catch {
    // Every read is guarded; this is the last line against an input stranger than foreseen.
    return err(migrationError('options', 'The options could not be read', { hint: 'Pass a plain object of options.' }));
  }
}

function validateOptions(input: unknown): Result<NormalizedOptions, MigrationError> {
  const issues = new OptionIssues();
  if (!isRecord(input)) {
    issues.add(`options must be an object with source and target, got ${kindOf(input)}`, `Pass { source, target }: ${CONNECTION_HINT}`);
    return err(issues.toError()!);
  }
  checkKeys(input, OPTION_KEYS, 'options', 'an option', issues);
  const read = (key: keyof MigratorOptions): unknown => readProperty(input, key, `options.${key}`, issues);

  const source = readConnection(read('source'), 'source', issues);
  const target = readConnection(read('target'), 'target', issues);
  const method = readMethod(read('method'), issues);
  const renames = new Map<string, string>();
  const databases = readNameList(
    read('databases'),
    'options.databases',
    issues,
    { message: 'options.databases is empty, so nothing would be migrated', hint: 'Leave databases out to migrate every database, or name at least one.' },
    renames,
  );
  const ignoreDatabases = readNameList(read('ignoreDatabases'), 'options.ignoreDatabases', issues);
  if (databases && ignoreDatabases) {
    ignoreDatabases.forEach((name, index) => {
      if (databases.includes(name)) {
        issues.add(
          `options.ignoreDatabases[${index}] "${name}" is also in options.databases`,
          'A database cannot be both migrated and ignored: remove it from one of the two lists.',
        );
      }
    });
  }
  const tables = readTables(read('tables'), issues);
  const excludeSchemas = readNameList(read('excludeSchemas'), 'options.excludeSchemas', issues);
  const excludeRoles = readNameList(read('excludeRoles'), 'options.excludeRoles', issues);
  const excludeExtensions = readNameList(read('excludeExtensions'), 'options.excludeExtensions', issues);
  const pgBinDir = readOptionalText(read('pgBinDir'), 'options.pgBinDir', issues);
  const jobs = readNumber(read('jobs'), 'options.jobs', { integer: true, max: 1024 }, issues);
  const syncTimeoutMs = readNumber(read('syncTimeoutMs'), 'options.syncTimeoutMs', {}, issues);
  const pollIntervalMs = readNumber(read('pollIntervalMs'), 'options.pollIntervalMs', { max: MAX_TIMER_MS }, issues);
  const allowNonEmptyTarget = readBoolean(read('allowNonEmptyTarget'), 'options.allowNonEmptyTarget', issues);
  const allowOlderTarget = readBoolean(read('allowOlderTarget'), 'options.allowOlderTarget', issues);
  const maxLagBytes = readNumber(read('maxLagBytes'), 'options.maxLagBytes', { integer: true }, issues);
  const stopTimeoutMs = readNumber(read('stopTimeoutMs'), 'options.stopTimeoutMs', { max: MAX_TIMER_MS }, issues);

  const error = issues.toError();
  if (error || !source || !target) {
    return err(error ?? migrationError('options', 'options.source and options.target are required', { hint: CONNECTION_HINT }));
  }
  return ok({
    source,
    target,
    method: method ?? 'auto',
    databases: databases ? Object.freeze(databases) : undefined,
    renames,
    ignoreDatabases: Object.freeze(ignoreDatabases ?? []),
    tables,
    excludeSchemas: Object.freeze(excludeSchemas ?? []),
    excludeRoles: Object.freeze(excludeRoles ?? []),
    excludeExtensions: Object.freeze(excludeExtensions ?? []),
    pgBinDir,
    jobs: jobs ?? 2,
    syncTimeoutMs: syncTimeoutMs ?? SIX_HOURS,
    pollIntervalMs: pollIntervalMs ?? 500,
    allowNonEmptyTarget: allowNonEmptyTarget ?? false,
    allowOlderTarget: allowOlderTarget ?? false,
    maxLagBytes: maxLagBytes ?? ONE_GIB,
    stopTimeoutMs: stopTimeoutMs ?? FIVE_MINUTES,
  });
}

function readMethod(value: unknown, issues: OptionIssues): MethodOption | undefined {
  if (value === undefined || value === UNREADABLE) return undefined;
  if (typeof value === 'string' && (METHODS as readonly string[]).includes(value)) return value as MethodOption;
  const suggestion = typeof value === 'string' ? closestName(value, METHODS) : undefined;
  issues.add(
    `options.method must be one of ${METHODS.map((m) => `'${m}'`).join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : kindOf(value)}${suggestion ? `; did you mean '${suggestion}'?` : ''}`,
    "Use 'auto' (replication where possible, dump elsewhere), 'replication' or 'dump'.",
  );
  return undefined;
}

/** A list of database names: an array of distinct non-empty strings PostgreSQL could hold. */
function readNameList(
  value: unknown,
  path: string,
  issues: OptionIssues,
  whenEmpty?: { message: string; hint: string },
  renames?: Map<string, string>,
): string[] | undefined {
  if (value === undefined || value === UNREADABLE) return undefined;
  const noun = path.endsWith('Roles') ? 'role' : path.endsWith('Extensions') ? 'extension' : path.endsWith('Schemas') ? 'schema' : 'database';
  const example = noun === 'role' ? "['app', 'reporting']" : noun === 'extension' ? "['postgis']" : noun === 'schema' ? "['staging']" : "['app', 'reports']";
  const hint = `Pass an array of ${noun} names, e.g. ${path.slice('options.'.length)}: ${example}.`;
  if (isArray(value) !== true) {
    issues.add(`${path} must be an array of ${noun} names, got ${kindOf(value)}`, hint);
    return undefined;
  }
  const length = readProperty(value as object, 'length', `${path}.length`, issues);
  if (typeof length !== 'number') return undefined;
  if (length > MAX_LIST_LENGTH) {
    issues.add(`${path} has ${length} entries; at most ${MAX_LIST_LENGTH} are accepted`, hint);
    return undefined;
  }
  if (length === 0 && whenEmpty) issues.add(whenEmpty.message, whenEmpty.hint);
  const firstAt = new Map<string, number>();
  /** Destination names of renamed entries, and where each came from. */
  const targetAt = new Map<string, number>();
  const validName = (name: unknown, at: string): name is string => {
    if (typeof name !== 'string') issues.add(`${at} must be a string, got ${kindOf(name)}`, hint);
    else if (name === '') issues.add(`${at} must not be empty`, `Name a ${noun}, or remove the entry.`);
    else if (name.includes('\0')) issues.add(`${at} contains a NUL character, which no ${noun} name can`, hint);
    else if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      issues.add(`${at} is longer than ${MAX_NAME_BYTES} bytes, which no ${noun} name can be`, 'Check the name: PostgreSQL names are at most 63 bytes.');
    } else return true;
    return false;
  };
  for (let index = 0; index < length && !issues.full; index++) {
    const at = `${path}[${index}]`;
    const entry = readProperty(value as object, index, at, issues);
    if (entry === UNREADABLE) continue;
    let name: unknown = entry;
    let target: string | undefined;
    if (renames && isRecord(entry)) {
      // `{ source: 'shop', target: 'shop_test_42' }`: the database copied under another name.
      checkKeys(entry, ['source', 'target'], at, 'a key', issues);
      name = readProperty(entry, 'source', `${at}.source`, issues);
      const renamed = readProperty(entry, 'target', `${at}.target`, issues);
      if (name === UNREADABLE || renamed === UNREADABLE) continue;
      if (!validName(name, `${at}.source`) || !validName(renamed, `${at}.target`)) continue;
      target = renamed;
    } else if (!validName(name, at)) {
      if (renames && typeof entry !== 'string') issues.add(`${at} may also be { source, target } to copy a database under another name`, hint);
      continue;
    }
    const source = name as string;
    const destination = target ?? source;
    if (firstAt.has(source)) {
      issues.add(`${at} repeats "${source}" (also at [${firstAt.get(source)}])`, `Name each ${noun} once.`);
    } else if (renames && targetAt.has(destination)) {
      issues.add(`${at} copies into "${destination}", as [${targetAt.get(destination)}] does`, 'Give each database a destination name of its own.');
    } else {
      firstAt.set(source, index);
      targetAt.set(destination, index);
      if (target !== undefined && target !== source) renames?.set(source, target);
    }
  }
  return [...firstAt.keys()];
}

/** `tables: { include, exclude }`, each a list of table names (see {@link parseTableName}). */
function readTables(value: unknown, issues: OptionIssues): NormalizedOptions['tables'] {
  const none = { include: [], exclude: [] };
  if (value === undefined || value === UNREADABLE) return none;
  const hint = "Pass { include?: [...], exclude?: [...] } with names as 'table', 'schema.table' or 'database.schema.table'.";
  if (!isRecord(value)) {
    issues.add(`options.tables must be an object, got ${kindOf(value)}`, hint);
    return none;
  }
  checkKeys(value, ['include', 'exclude'], 'options.tables', 'a key', issues);
  const read = (key: 'include' | 'exclude'): TableName[] => {
    const path = `options.tables.${key}`;
    const list = readProperty(value, key, path, issues);
    if (list === undefined || list === UNREADABLE) return [];
    if (isArray(list) !== true) {
      issues.add(`${path} must be an array of table names, got ${kindOf(list)}`, hint);
      return [];
    }
    const names: TableName[] = [];
    const length = readProperty(list as object, 'length', `${path}.length`, issues);
    if (typeof length !== 'number' || length > MAX_LIST_LENGTH) {
      issues.add(`${path} must have at most ${MAX_LIST_LENGTH} entries`, hint);
      return [];
    }
    for (let index = 0; index < length && !issues.full; index++) {
      const entry = readProperty(list as object, index, `${path}[${index}]`, issues);
      if (entry === UNREADABLE) continue;
      if (typeof entry !== 'string') {
        issues.add(`${path}[${index}] must be a string, got ${kindOf(entry)}`, hint);
        continue;
      }
      const parsed = parseTableName(entry);
      if ('problem' in parsed) issues.add(`${path}[${index}]: ${parsed.problem}`, hint);
      else names.push(parsed);
    }
    return names;
  };
  return Object.freeze({ include: Object.freeze(read('include')), exclude: Object.freeze(read('exclude')) });
}

function readOptionalText(value: unknown, path: string, issues: OptionIssues, side?: Side): string | undefined {
  if (value === undefined || value === UNREADABLE) return undefined;
  if (typeof value !== 'string') {
    issues.add(`${path} must be a string, got ${kindOf(value)}`, `Pass ${path.slice(path.lastIndexOf('.') + 1)} as a string, or leave it out.`, side);
    return undefined;
  }
  if (value.trim() === '') {
    issues.add(`${path} must not be empty`, `Leave ${path.slice(path.lastIndexOf('.') + 1)} out for its default.`, side);
    return undefined;
  }
  return value;
}

function readBoolean(value: unknown, path: string, issues: OptionIssues): boolean | undefined {
  if (value === undefined || value === UNREADABLE) return undefined;
  if (typeof value === 'boolean') return value;
  issues.add(`${path} must be true or false, got ${kindOf(value)}`, `Pass a boolean, e.g. ${path.slice('options.'.length)}: true.`);
  return undefined;
}

function readNumber(
  value: unknown,
  path: string,
  limits: { integer?: boolean; max?: number },
  issues: OptionIssues,
): number | undefined {
  if (value === undefined || value === UNREADABLE) return undefined;
  const what = limits.integer ? 'a positive integer' : 'a positive number';
  if (typeof value !== 'number') {
    issues.add(`${path} must be ${what}, got ${kindOf(value)}`, `Pass a number, e.g. ${path.slice('options.'.length)}: ${limits.integer ? 4 : 60000}.`);
    return undefined;
  }
  const fits = Number.isFinite(value) && value > 0 && (!limits.integer || Number.isSafeInteger(value));
  if (!fits) {
    issues.add(`${path} must be ${what}, got ${String(value)}`, `Leave ${path.slice('options.'.length)} out for its default, or pass ${what}.`);
    return undefined;
  }
  if (limits.max !== undefined && value > limits.max) {
    issues.add(`${path} must be at most ${limits.max}, got ${String(value)}`, `Leave ${path.slice('options.'.length)} out for its default, or pass a smaller number.`);
    return undefined;
  }
  return value;
}

/**
 * Normalises one side's connection, from a URI or from fields, without
 * touching certificate files (they are read when a connection opens). Never throws.
 */
export function normalizeConnection(input: unknown, side: Side): Result<ConnectionConfig, MigrationError> {
  try {
    const issues = new OptionIssues();
    const config = readConnection(input, side, issues);
    const error = issues.toError();
    if (error || !config) return err(error ?? migrationError('options', `options.${side} is required`, { side, hint: CONNECTION_HINT }));
    return ok(config);
  } catch {
    return err(migrationError('options', `options.${side} could not be read`, { side, hint: CONNECTION_HINT }));
  }
}

function readConnection(input: unknown, side: Side, issues: OptionIssues): ConnectionConfig | undefined {
  const path = `options.${side}`;
  if (input === UNREADABLE) return undefined;
  if (input === undefined) {
    issues.add(`${path} is required`, `Pass ${side}: ${CONNECTION_HINT}`, side);
    return undefined;
  }
  const config = typeof input === 'string' ? fromUri(input, side, issues) : isRecord(input) ? fromFields(input, side, issues) : undefined;
  if (typeof input !== 'string' && !isRecord(input)) {
    issues.add(`${path} must be a connection URI or an object of connection fields, got ${kindOf(input)}`, CONNECTION_HINT, side);
  }
  // pg_dump and pg_dumpall read a password from a line-based passfile only (anything else would show it): refused before anything runs.
  if (config?.password !== undefined && /[\r\n]/.test(config.password)) {
    issues.add(`${path}.password has a line break, which pg_dump and pg_dumpall could not be given`, 'Give the role a password without line breaks.', side);
  }
  return config;
}

function fromFields(input: Record<string, unknown>, side: Side, issues: OptionIssues): ConnectionConfig | undefined {
  const path = `options.${side}`;
  checkKeys(input, FIELD_KEYS, path, 'a connection field', issues, FIELD_ALIASES, side);
  const read = (key: keyof ConnectionFields): unknown => readProperty(input, key, `${path}.${key}`, issues, side);
  const before = issues.count;
  const hostValue = read('host');
  if (hostValue === undefined) issues.add(`${path}.host is required`, 'Name the server, e.g. host: "db.example.com".', side);
  const host = readOptionalText(hostValue, `${path}.host`, issues, side);
  const port = toPort(read('port'), `${path}.port`, side, issues);
  const database = readOptionalText(read('database'), `${path}.database`, issues, side);
  const username = readOptionalText(read('username'), `${path}.username`, issues, side);
  const passwordValue = read('password');
  let password: string | undefined;
  if (typeof passwordValue === 'string') password = passwordValue === '' ? undefined : passwordValue;
  else if (passwordValue !== undefined && passwordValue !== UNREADABLE) {
    issues.add(`${path}.password must be a string, got ${kindOf(passwordValue)}`, 'Pass the password as a string.', side);
  }
  const sslmode = toSslMode(read('ssl'), `${path}.ssl`, side, issues);
  const sslrootcert = readOptionalText(read('sslrootcert'), `${path}.sslrootcert`, issues, side);
  const sslcert = readOptionalText(read('sslcert'), `${path}.sslcert`, issues, side);
  const sslkey = readOptionalText(read('sslkey'), `${path}.sslkey`, issues, side);
  if (issues.count > before || host === undefined || sslmode === undefined || port === undefined) return undefined;
  return {
    host,
    port,
    database: database ?? 'postgres',
    username: username ?? 'postgres',
    password,
    sslmode,
    sslrootcert,
    sslcert,
    sslkey,
  };
}

function fromUri(uri: string, side: Side, issues: OptionIssues): ConnectionConfig | undefined {
  const path = `options.${side}`;
  if (uri.trim() === '') {
    issues.add(`${path} must not be empty`, CONNECTION_HINT, side);
    return undefined;
  }
  if (!/^postgres(ql)?:\/\//i.test(uri)) {
    // The text is not echoed: it may be a connection string with a password in it.
    issues.add(`${path} is not a postgres:// URI`, 'Use postgres://user:password@host:5432/database?sslmode=require', side);
    return undefined;
  }
  // The query is read as libpq reads it (see uri-query.ts); the parser
  // gets the rest, as it would read certificate files eagerly, throw on a
  // missing one, and give its own meanings to libpq's parameters.
  const queryAt = uri.indexOf('?');
  const { query, problems } = readUriQuery(queryAt >= 0 ? uri.slice(queryAt + 1) : '');
  for (const problem of problems) issues.add(`${path} ${problem.message}`, problem.hint, side);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(queryAt >= 0 ? uri.slice(0, queryAt) : uri);
  } catch {
    // The parser's message could echo the URI, password included: say nothing of it.
    issues.add(
      `${path} is a URI that cannot be parsed`,
      'Use postgres://user:password@host:port/database, with a port of 1-65535 and special characters in the user name and password percent-encoded.',
      side,
    );
    return undefined;
  }
  const file = (value: string | undefined): string | undefined => value || undefined;
  const sslmode = toSslMode(query.sslmode, `${path} (its sslmode parameter)`, side, issues);
  const port = toPort(query.port || parsed.port || undefined, `${path} (its port)`, side, issues);
  if (problems.length > 0 || sslmode === undefined || port === undefined) return undefined;
  return {
    host: query.host || parsed.host || 'localhost',
    port,
    database: query.dbname || parsed.database || 'postgres',
    username: query.user || parsed.user || 'postgres',
    password: query.password || parsed.password || undefined,
    sslmode,
    sslrootcert: file(query.sslrootcert),
    sslcert: file(query.sslcert),
    sslkey: file(query.sslkey),
  };
}

function toSslMode(value: unknown, path: string, side: Side, issues: OptionIssues): SslMode | undefined {
  if (value === UNREADABLE) return undefined;
  if (value === undefined) return 'prefer';
  if (value === true || value === 'true') return 'require';
  if (value === false || value === 'false') return 'disable';
  if (value === '') {
    issues.add(`${path} must not be empty`, `Leave it out for the default (prefer), or use one of ${SSL_MODES.join(', ')}.`, side);
    return undefined;
  }
  if (typeof value === 'string' && (SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  const suggestion = typeof value === 'string' ? closestName(value, SSL_MODES) : undefined;
  issues.add(
    `${path} must be an sslmode or true/false, got ${typeof value === 'string' ? JSON.stringify(value) : kindOf(value)}${suggestion ? `; did you mean '${suggestion}'?` : ''}`,
    `Use one of ${SSL_MODES.join(', ')}.`,
    side,
  );
  return undefined;
}

function toPort(value: unknown, path: string, side: Side, issues: OptionIssues): number | undefined {
  if (value === UNREADABLE) return undefined;
  if (value === undefined) return 5432;
  if (typeof value !== 'number' && typeof value !== 'string') {
    issues.add(`${path} must be a number or a string of digits, got ${kindOf(value)}`, 'Use a TCP port, e.g. 5432.', side);
    return undefined;
  }
  const port = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    issues.add(`${path} must be a TCP port (1-65535), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`, 'Use a TCP port, e.g. 5432.', side);
    return undefined;
  }
  return port;
}

/**
 * The passwords in a {@link Migrator}'s options, read from anything and never
 * throwing, so they can be kept out of every message even when the options
 * are invalid. A URI's password is returned decoded and, when it differs, as
 * written too.
 */
export function secretsOf(input: unknown): string[] {
  const secrets: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value !== '' && !secrets.includes(value)) secrets.push(value);
  };
  for (const side of ['source', 'target'] as const) {
    try {
      const connection = isRecord(input) ? input[side] : undefined;
      if (typeof connection === 'string') {
        // Up to the last "@" before the host: an unencoded "@" may sit in the password.
        const match = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^/?#]*)@[^@/?#]*(?:[/?#]|$)/i.exec(connection);
        const raw = match?.[1];
        const queryAt = connection.indexOf('?');
        const inQuery = queryAt >= 0 ? readUriQuery(connection.slice(queryAt + 1)).query.password : undefined;
        add(inQuery);
        if (raw) {
          add(raw);
          try {
            add(decodeURIComponent(raw));
          } catch {
            // Not valid percent-encoding: the raw form is the password.
          }
        }
      } else if (isRecord(connection)) {
        add(connection['password']);
      }
    } catch {
      // A getter or Proxy that throws holds no password we can know.
    }
  }
  return secrets;
}

/** `user@host:port/database`: how a connection is named in messages (never with its password). */
export function describeConnection(config: ConnectionConfig, database: string = config.database): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${config.username}@${host}:${config.port}/${database}`;
}
