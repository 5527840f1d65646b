/**
 * One migration by the library through its public API, in a process of its
 * own so that its peak resident memory is the library's alone.
 *
 * The spec comes as JSON in BENCH_LIBRARY_SPEC (it holds passwords, which
 * stay out of argv). Reports are JSON lines on stdout:
 * `ready` (baseline memory), `migrated` (seconds to `done`/`syncing`), and for
 * replication, after a line on stdin asks for it, `stopped`; `exit` last.
 */
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { EVENT_NAMES, Migrator, describeError } from '../src/index.js';

export interface LibrarySpec {
  readonly source: string;
  readonly target: string;
  readonly database: string;
  readonly method: 'dump' | 'replication';
  readonly jobs: number;
  readonly syncTimeoutMs: number;
}

export type LibraryReport =
  | { readonly type: 'ready'; readonly rssKb: number }
  | { readonly type: 'migrated'; readonly seconds: number; readonly status: string; readonly error: string | null; readonly maxRssKb: number; readonly cpuSeconds: number }
  | { readonly type: 'stopped'; readonly seconds: number; readonly error: string | null }
  | { readonly type: 'exit'; readonly maxRssKb: number };

function report(line: LibraryReport): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * With BENCH_TRACE=<file>, every event but progress ticks is appended to the
 * file with its second since the start: where a run's time goes, per phase.
 */
function traceEvents(migrator: Migrator, start: bigint): void {
  const file = process.env['BENCH_TRACE'];
  if (!file) return;
  for (const name of EVENT_NAMES) {
    if (name === 'copy:progress') continue;
    migrator.on(name, (event: unknown) => {
      appendFileSync(file, `${elapsed(start).toFixed(3)} ${name} ${JSON.stringify(event).slice(0, 300)}\n`);
    });
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env['BENCH_LIBRARY_SPEC'] ?? '{}') as LibrarySpec;
  report({ type: 'ready', rssKb: Math.round(process.memoryUsage().rss / 1024) });
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const migrator = new Migrator({ source: spec.source, target: spec.target, method: spec.method, jobs: spec.jobs, databases: [spec.database], syncTimeoutMs: spec.syncTimeoutMs });
  traceEvents(migrator, start);
  const migrated = await migrator.migrate();
  const seconds = elapsed(start);
  const database = migrated.isOk() ? migrated.value.databases.find((db) => db.dbname === spec.database) : undefined;
  const expected = spec.method === 'dump' ? 'done' : 'syncing';
  const error = migrated.isErr()
    ? describeError(migrated.error)
    : database?.status === expected
      ? null
      : `database ${spec.database} is ${database?.status ?? 'absent'}${database?.error ? `: ${database.error}` : ''}`;
  const cpu = process.cpuUsage(cpuStart);
  report({ type: 'migrated', seconds, status: database?.status ?? 'failed', error, maxRssKb: process.resourceUsage().maxRSS, cpuSeconds: (cpu.user + cpu.system) / 1e6 });

  if (spec.method === 'replication' && error === null) {
    // The bench checks the destination while it replicates, then asks for the stop.
    const lines = createInterface({ input: process.stdin });
    await new Promise<void>((resolve) => {
      lines.once('line', () => resolve());
      lines.once('close', () => resolve());
    });
    lines.close();
    const stopStart = process.hrtime.bigint();
    const stopped = await migrator.stop();
    report({ type: 'stopped', seconds: elapsed(stopStart), error: stopped.isErr() ? describeError(stopped.error) : null });
  }
  await migrator.close();
  report({ type: 'exit', maxRssKb: process.resourceUsage().maxRSS });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
