/**
 * A migration worker's HTTP API, as a platform embeds the library: plain
 * `node:http`, no framework, one migration at a time.
 *
 *   POST   /migrations        starts one: preflight, then 202 while migrate() runs on
 *   GET    /migrations        its status, exactly the service's JSON (toServiceResponse),
 *                             with a header `migration-run: active` while this worker's migrate() runs, else `idle`
 *   POST   /migrations/stop   stops it: removes the replication objects; 200 with the status
 *   DELETE /migrations        cancels a running migrate() through its AbortSignal
 *
 * The body of `POST /migrations` may name `source`, `target`, `method`,
 * `databases`, `ignoreDatabases`, `excludeRoles` and `excludeExtensions`;
 * the source and target default to `SOURCE_SERVICE_URI` / `TARGET_SERVICE_URI`.
 * Every event goes to the structured log (pino, or the host's logger), and
 * SIGTERM cancels what runs, closes the connections, then the server.
 *
 *   npm install datalakehouse-db-migrate pino
 *   SOURCE_SERVICE_URI=postgres://… TARGET_SERVICE_URI=postgres://… PORT=8080 npx tsx examples/service.ts
 *   curl -X POST localhost:8080/migrations -d '{"databases": ["shop"]}'
 *   curl localhost:8080/migrations
 *   curl -X POST localhost:8080/migrations/stop
 *
 * `createService()` returns the `http.Server` (not listening yet), with a
 * `shutdown()` that does what SIGTERM does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import {
  Migrator,
  describeError,
  toServiceResponse,
  type ConnectionInput,
  type MigrationError,
  type MigrationErrorKind,
  type MigrationEvent,
  type MigratorOptions,
  type PreflightReport,
} from 'datalakehouse-db-migrate';

/** What the service logs through: a pino `Logger` fits, and so do most hosts' loggers. */
export interface ServiceLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ServiceOptions {
  /** The source when a request names none, e.g. `process.env.SOURCE_SERVICE_URI`. */
  readonly source?: ConnectionInput | undefined;
  /** The destination when a request names none, e.g. `process.env.TARGET_SERVICE_URI`. */
  readonly target?: ConnectionInput | undefined;
  /** Options every migration gets, e.g. `{ jobs: 4 }`; a request's body overrides those it names. */
  readonly defaults?: Omit<MigratorOptions, 'source' | 'target'>;
  /** Default: pino to stdout. */
  readonly logger?: ServiceLogger;
}

/** The HTTP server, with a graceful end. */
export interface MigrationService extends Server {
  /** Cancels a running migrate(), ends calls in flight, closes the connections, and closes the server. */
  shutdown(): Promise<void>;
}

/**
 * What a request may set. Not `pgBinDir` (which programs to run) nor the
 * timeouts: those are the operator's, in `defaults`.
 */
const REQUEST_KEYS = ['source', 'target', 'method', 'databases', 'ignoreDatabases', 'excludeRoles', 'excludeExtensions'] as const;
const MAX_BODY_BYTES = 64 * 1024;

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A migrate() under way (or its preflight), and how to cancel it. */
interface Run {
  readonly controller: AbortController;
  readonly settled: Promise<void>;
}

export function createService(options: ServiceOptions = {}): MigrationService {
  const logger = options.logger ?? pino();
  /** Fires on shutdown: every library call in flight gets this signal. */
  const closing = new AbortController();
  let migrator: Migrator | undefined;
  let run: Run | undefined;

  function newMigrator(migratorOptions: MigratorOptions): Migrator {
    const created = new Migrator(migratorOptions);
    created.on('progress', (event) => logEvent(logger, event));
    return created;
  }

  /** The migrator of the last POST, or one over the configured clusters, so a restarted worker still answers GET. */
  function currentMigrator(): Migrator | undefined {
    if (!migrator && options.source !== undefined && options.target !== undefined) {
      migrator = newMigrator({ ...options.defaults, source: options.source, target: options.target });
    }
    return migrator;
  }

  async function start(body: Record<string, unknown>): Promise<Answer> {
    if (run) return conflict('A migration is already running', 'GET /migrations for its progress, DELETE /migrations to cancel it.');
    const unknown = Object.keys(body).filter((key) => !(REQUEST_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) {
      return { status: 400, body: { error: { kind: 'options', message: `Not accepted in a request: ${unknown.join(', ')}`, hint: `A request may set ${REQUEST_KEYS.join(', ')}.` } } };
    }
    const source = body['source'] ?? options.source;
    const target = body['target'] ?? options.target;
    if (source === undefined || target === undefined) {
      return { status: 400, body: { error: { kind: 'options', message: 'No source or target', hint: 'Name them in the request, or start the service with SOURCE_SERVICE_URI and TARGET_SERVICE_URI.' } } };
    }
    // Taken before the first await, so two requests cannot both start one.
    const controller = new AbortController();
    let release = (): void => undefined;
    run = { controller, settled: new Promise<void>((resolve) => (release = resolve)) };
    const finish = (): void => {
      run = undefined;
      release();
    };
    // The Migrator checks every option at run time, whatever its type, and
    // answers a wrong one with an `options` error naming the field: a parsed
    // body can go in as it is.
    const next = newMigrator({ ...options.defaults, ...body, source, target } as MigratorOptions);
    const previous = migrator;
    migrator = next;
    await previous?.close();

    const report = await next.preflight({ signal: controller.signal });
    if (report.isErr()) {
      finish();
      return failure(report.error);
    }
    const blocking = blockingChecks(report.value);
    if (blocking.length > 0) {
      finish();
      return {
        status: 422,
        body: { error: { kind: 'preflight', message: 'Preflight failed: nothing was started', reasons: blocking }, preflight: report.value },
      };
    }
    void next
      .migrate({ preflight: report.value, signal: controller.signal })
      .match(
        (status) => logger.info({ migration: toServiceResponse(status) }, 'migrate() finished'),
        (error) => logger.error({ error }, `migrate() ended: ${describeError(error)}`),
      )
      .finally(finish);
    return {
      status: 202,
      headers: { location: '/migrations' },
      body: { databases: report.value.databases.map(({ dbname, method, action }) => ({ dbname, method, action })) },
    };
  }

  async function status(): Promise<Answer> {
    const current = currentMigrator();
    if (!current) return notConfigured();
    const result = await current.status({ signal: closing.signal });
    // The status is what the destination records: until a new run reaches a
    // database, it shows that database as the last run left it. The header
    // says whether a run is still under way here.
    const headers = { 'migration-run': run ? 'active' : 'idle' };
    return result.isOk() ? { status: 200, headers, body: toServiceResponse(result.value) } : failure(result.error);
  }

  async function stop(body: Record<string, unknown>): Promise<Answer> {
    const current = currentMigrator();
    if (!current) return notConfigured();
    const { force, timeoutMs } = body;
    if ((force !== undefined && typeof force !== 'boolean') || (timeoutMs !== undefined && typeof timeoutMs !== 'number')) {
      return { status: 400, body: { error: { kind: 'options', message: 'force must be true or false, timeoutMs a number of milliseconds' } } };
    }
    const result = await current.stop({
      signal: closing.signal,
      ...(force === undefined ? {} : { force }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return result.isOk() ? { status: 200, body: toServiceResponse(result.value) } : failure(result.error);
  }

  async function cancel(): Promise<Answer> {
    const running = run;
    if (!running) return conflict('No migration is running', 'POST /migrations/stop ends a migration that finished copying.');
    running.controller.abort();
    // A cancelled migrate() removes what it had not finished, then settles, within seconds.
    await running.settled;
    return status();
  }

  async function route(request: IncomingMessage): Promise<Answer> {
    if (closing.signal.aborted) return { status: 503, body: { error: { message: 'The service is shutting down' } } };
    const path = new URL(request.url ?? '/', 'http://service').pathname;
    const method = request.method ?? 'GET';
    if (path === '/migrations') {
      if (method === 'GET') return status();
      if (method === 'DELETE') return cancel();
      if (method === 'POST') {
        const body = await readJson(request);
        return 'error' in body ? { status: 400, body } : start(body.value);
      }
      return notAllowed('GET, POST, DELETE');
    }
    if (path === '/migrations/stop') {
      if (method !== 'POST') return notAllowed('POST');
      const body = await readJson(request);
      return 'error' in body ? { status: 400, body } : stop(body.value);
    }
    return { status: 404, body: { error: { message: `No route ${method} ${path}` } } };
  }

  const server = createServer((request, response) => {
    route(request).then(
      (answer) => send(response, answer),
      (error: unknown) => {
        // Library calls never reject; this is the service's own defect.
        logger.error({ error: String(error) }, 'request failed');
        send(response, { status: 500, body: { error: { message: 'Internal error' } } });
      },
    );
  });

  async function shutdown(): Promise<void> {
    if (closing.signal.aborted) return;
    closing.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    run?.controller.abort();
    await run?.settled;
    await migrator?.close();
    server.closeIdleConnections();
    await closed;
  }

  return Object.assign(server, { shutdown });
}

/** copy:progress comes several times a second: debug. Warnings and failures get their level. */
function logEvent(logger: ServiceLogger, event: MigrationEvent): void {
  if (event.type === 'copy:progress') logger.debug({ event }, event.type);
  else if (event.type === 'warning') logger.warn({ event }, event.type);
  else if (event.type === 'database:done' && event.status === 'failed') logger.error({ event }, event.type);
  else logger.info({ event }, event.type);
}

/** The checks that stop migrate() as a whole (those about one database fail that database only). */
function blockingChecks(report: PreflightReport): string[] {
  return report.checks
    .filter((check) => check.status === 'fail' && check.database === undefined && check.blocks === 'migration')
    .map((check) => (check.hint ? `${check.message} (${check.hint})` : check.message));
}

/** The HTTP status for a library error: a switch over every kind, checked by the compiler. */
function httpStatus(kind: MigrationErrorKind): number {
  switch (kind) {
    case 'options':
      return 400;
    case 'connection':
    case 'auth':
    case 'tls':
    case 'database-missing':
      return 502;
    case 'busy':
    case 'unsafe-stop':
      return 409;
    case 'preflight':
    case 'version':
    case 'privilege':
    case 'target-not-empty':
    case 'identity':
    case 'verification':
      return 422;
    case 'cancelled':
      return 503;
    case 'tool':
    case 'schema':
    case 'copy':
    case 'replication':
    case 'internal':
      return 500;
    default: {
      const unhandled: never = kind;
      return unhandled;
    }
  }
}

/** Errors are plain data without secrets: they go out as they are. */
function failure(error: MigrationError): Answer {
  return { status: httpStatus(error.kind), body: { error } };
}

function conflict(message: string, hint: string): Answer {
  return { status: 409, body: { error: { message, hint } } };
}

function notConfigured(): Answer {
  return { status: 404, body: { error: { message: 'No migration yet', hint: 'POST /migrations, or start the service with SOURCE_SERVICE_URI and TARGET_SERVICE_URI.' } } };
}

function notAllowed(allow: string): Answer {
  return { status: 405, headers: { allow }, body: { error: { message: `Use ${allow}` } } };
}

async function readJson(request: IncomingMessage): Promise<{ value: Record<string, unknown> } | { error: { message: string } }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { error: { message: `The body is larger than ${MAX_BODY_BYTES} bytes` } };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { value: value as Record<string, unknown> };
  } catch {
    // Answered below.
  }
  return { error: { message: 'The body must be a JSON object' } };
}

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  response.end(JSON.stringify(answer.body));
}

// Run as a program: the environment names the clusters, SIGTERM (or Ctrl-C) ends it cleanly.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const logger = pino();
  const service = createService({ source: process.env['SOURCE_SERVICE_URI'], target: process.env['TARGET_SERVICE_URI'], logger });
  const port = Number(process.env['PORT'] ?? 8080);
  service.listen(port, () => logger.info({ port }, 'listening'));
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    void service.shutdown().then(() => logger.info({}, 'stopped'));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
