import { spawnSync } from 'node:child_process';
/**
 * One workload: a source cluster generated once, then every selected tool in
 * turn onto a fresh, empty destination cluster, each checked for
 * completeness before it tears anything down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchCluster, stopBenchCluster, targetBaseDir, type Cluster } from './clusters.js';
import { LiveWriters, type LiveMeasurement } from './live-writers.js';
import { sleep } from './processes.js';
import type { BenchOptions, ToolName } from './options.js';
import { REPLICATING_TOOLS, TOOLS, type Tool } from './peers/index.js';
import { differences, fingerprintDatabase, type DatabaseFingerprint } from './verify.js';
import type { Workload } from './workloads/index.js';

export interface RunResult {
  readonly tool: ToolName;
  /** `ok`: complete; `incomplete`: finished but the destination differs; `failed`: the tool failed; `unavailable`: not run. */
  readonly status: 'ok' | 'incomplete' | 'failed' | 'unavailable';
  readonly seconds?: number;
  readonly maxRssKb?: number;
  readonly baselineRssKb?: number;
  readonly cpuSeconds?: number;
  readonly stopSeconds?: number;
  readonly problems: readonly string[];
  readonly error?: string;
  /** Replication objects the tool left on the source, removed by the bench. */
  readonly leftovers: readonly string[];
  readonly live?: LiveMeasurement;
  /** With `--rounds` above 1: every round's seconds, in the order they ran (`null`: that round failed). */
  readonly roundSeconds?: readonly (number | null)[];
}

export interface WorkloadResult {
  readonly name: Workload['name'];
  readonly description: string;
  readonly sourceBytes: number;
  readonly tables: number;
  readonly generateSeconds: number;
  readonly runs: readonly RunResult[];
}

export interface WorkloadSetup {
  readonly options: BenchOptions;
  readonly password: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runWorkload(workload: Workload, setup: WorkloadSetup): Promise<WorkloadResult> {
  const { options, password, env, log } = setup;
  const description = workload.describe(options.scale);
  log(`[${workload.name}] generating: ${description}`);
  const source = await startBenchCluster(password, options.jobs);
  try {
    const generating = process.hrtime.bigint();
    await workload.generate({ source, scale: options.scale, env });
    await source.exec('vacuum analyze', workload.database);
    const generateSeconds = seconds(generating);
    const [size] = await source.sql()<{ bytes: string }[]>`select pg_database_size(${workload.database})::text as bytes`;
    // Reading every row once also leaves all tools the same warm cache.
    const expected = await fingerprintDatabase(source, workload.database);
    warmDestinationMemory(Number(size?.bytes ?? 0));
    log(`[${workload.name}] ${Object.keys(expected.tables).length} tables, ${(Number(size?.bytes) / 2 ** 20).toFixed(0)} MiB, generated in ${generateSeconds.toFixed(1)} s`);
    const tools = options.tools.filter((name) => workload.name !== 'live' || REPLICATING_TOOLS.includes(name));
    const rounds = new Map<ToolName, RunResult[]>(tools.map((name) => [name, []]));
    // Interleaved, so that a slow spell of the machine falls on every tool alike rather than on one tool's rounds.
    for (let round = 1; round <= options.rounds; round++) {
      for (const name of tools) {
        const result = await runTool(TOOLS[name], workload, source, workload.name === 'live' ? undefined : expected, setup);
        const shown = result.seconds !== undefined ? `${result.seconds.toFixed(1)} s` : '';
        const of = options.rounds > 1 ? ` (round ${round} of ${options.rounds})` : '';
        log(`[${workload.name}] ${name}${of}: ${result.status} ${shown}${result.error ? ` — ${result.error}` : ''}${result.problems.length ? ` — ${result.problems.slice(0, 3).join('; ')}` : ''}`);
        rounds.get(name)?.push(result);
      }
    }
    const runs = tools.map((name) => bestOf(rounds.get(name) ?? []));
    return { name: workload.name, description, sourceBytes: Number(size?.bytes ?? 0), tables: Object.keys(expected.tables).length, generateSeconds, runs };
  } finally {
    await stopBenchCluster(source);
  }
}

/**
 * A tool's result over its rounds: its fastest complete run, unless a round
 * failed or left the destination incomplete, which no faster round excuses.
 */
export function bestOf(results: readonly RunResult[]): RunResult {
  const first = results[0];
  if (!first) throw new Error('a tool ran no round');
  if (results.length === 1) return first;
  const roundSeconds = results.map((r) => (r.status === 'ok' ? (r.seconds ?? null) : null));
  const bad = results.find((r) => r.status === 'failed' || r.status === 'incomplete');
  const chosen = bad ?? results.filter((r) => r.status === 'ok').reduce((best, r) => ((r.seconds ?? Infinity) < (best.seconds ?? Infinity) ? r : best), first);
  return { ...chosen, roundSeconds };
}

/**
 * Writes and removes a file twice the workload's size where the destinations
 * go, so that the first tool does not pay alone for memory the machine hands
 * out for the first time: on this virtual machine the first tool of "big"
 * took 10.2-12.3 s where the same tool later took 8.6 s.
 */
function warmDestinationMemory(bytes: number): void {
  const dir = targetBaseDir();
  if (!dir) return;
  const file = join(dir, `bench-warm-${process.pid}`);
  const megabytes = Math.ceil((2 * bytes) / 2 ** 20);
  spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${megabytes}`], { stdio: 'ignore' });
  rmSync(file, { force: true });
}

async function runTool(tool: Tool, workload: Workload, source: Cluster, expected: DatabaseFingerprint | undefined, setup: WorkloadSetup): Promise<RunResult> {
  const reason = tool.unavailable();
  if (reason) return { tool: tool.name, status: 'unavailable', problems: [], error: reason, leftovers: [] };
  const { options, password, env } = setup;
  const database = workload.database;
  await source.exec('checkpoint');
  // The source's files written out now, not by the kernel while this tool runs: the workload's
  // generation leaves ~1.5 GB dirty on "big", and the first tool ran 2-4 s slower for it.
  spawnSync('sync', { stdio: 'ignore' });
  const target = await startBenchCluster(password, options.jobs, targetBaseDir(), options.targetMajor);
  const workDir = mkdtempSync(join(tmpdir(), `bench-${tool.name}-`));
  const writers = expected === undefined ? new LiveWriters(source, database) : undefined;
  let problems: string[] = [];
  let live: LiveMeasurement | undefined;
  let outcome: Omit<RunResult, 'leftovers'>;
  try {
    writers?.start(env, options.liveRate);
    const run = await tool.run({
      source,
      target,
      database,
      jobs: options.jobs,
      syncTimeoutMs: options.syncTimeoutSeconds * 1000,
      env,
      password,
      workDir,
      reached: async () => {
        if (writers) {
          live = await writers.measure(target, options.liveSeconds);
          problems = differences(await fingerprintDatabase(source, database), await fingerprintDatabase(target, database));
          if (!live.rowsEqual) problems.push(`pgbench totals differ: source ${JSON.stringify(live.source)}, destination ${JSON.stringify(live.target)}`);
        } else if (expected) {
          problems = differences(expected, await fingerprintDatabase(target, database));
        }
      },
    });
    outcome = { tool: tool.name, status: problems.length === 0 ? 'ok' : 'incomplete', ...run, problems, ...(live ? { live } : {}) };
  } catch (error) {
    outcome = { tool: tool.name, status: 'failed', problems, error: message(error), ...(live ? { live } : {}) };
  } finally {
    await writers?.end();
    await stopBenchCluster(target);
    rmSync(workDir, { recursive: true, force: true });
  }
  // With the destination gone, whatever replication objects remain on the source were left behind.
  const leftovers = await removeLeftovers(source, database).catch((error: unknown) => [`(not checked: ${message(error)})`]);
  return { ...outcome, leftovers };
}

/** Drops publications and slots a tool left on the source, so the next tool starts from the same source; says which. */
async function removeLeftovers(source: Cluster, database: string): Promise<string[]> {
  const sql = source.sql(database);
  const publications = await sql<{ name: string }[]>`select pubname as name from pg_publication`;
  for (const { name } of publications) await sql`drop publication ${sql(name)}`;
  // A walsender of a destination just stopped may hold its slot a moment longer.
  for (let i = 0; i < 50; i++) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_replication_slots where database = ${database} and active`;
    if (row?.n === 0) break;
    await sleep(100);
  }
  const slots = await sql<{ name: string }[]>`
    select slot_name as name from pg_replication_slots where database = ${database} and not active`;
  for (const { name } of slots) await sql`select pg_drop_replication_slot(${name})`;
  return [...publications.map((p) => `publication ${p.name}`), ...slots.map((s) => `slot ${s.name}`)];
}
