/**
 * The bench's knobs, from the command line or the environment:
 * `--scale 0.1` (or `BENCH_SCALE`), `--only big,many`, `--tools ...`,
 * `--jobs 2`, `--rounds 1`, `--live-seconds 10`, `--live-rate 0`,
 * `--sync-timeout 1800`, `--target-major 15`, `--out file`.
 */
import { parseArgs } from 'node:util';

export const WORKLOAD_NAMES = ['big', 'many', 'tiny', 'wide', 'live'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export const TOOL_NAMES = ['us-dump', 'us-replication', 'pg_dump-pipe', 'pg_dump-dir', 'subscription', 'pgcopydb'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface BenchOptions {
  /** Multiplies every workload's size: 1 is the full size. */
  readonly scale: number;
  readonly workloads: readonly WorkloadName[];
  readonly tools: readonly ToolName[];
  /** N of `pg_dump -jN`, `pg_restore -jN`, pgcopydb's jobs and the library's `jobs`. */
  readonly jobs: number;
  /**
   * How many times every tool runs on each workload, in interleaved rounds
   * (each tool once, then each again); a tool's best complete run is
   * reported. On this 2-core virtual machine one tool's time varies by
   * 10-20% between runs, more than some targets' margins.
   */
  readonly rounds: number;
  /** How long the writers keep going after replication reached `syncing` on "live". */
  readonly liveSeconds: number;
  /** pgbench's `--rate` on "live" (transactions per second); 0 = as fast as it can. */
  readonly liveRate: number;
  /** How long a replication may take to reach `syncing`/ready before the run counts as failed. */
  readonly syncTimeoutSeconds: number;
  /**
   * The destination clusters' PostgreSQL major; the source is always 15,
   * Debian's, whose client tools every peer uses.
   */
  readonly targetMajor: TargetMajor;
  readonly out: string;
}

export const TARGET_MAJORS = [15, 16, 17] as const;
export type TargetMajor = (typeof TARGET_MAJORS)[number];

/** From which major into which the bench migrates, as its log and report say it. */
export function majors(options: Pick<BenchOptions, 'targetMajor'>): string {
  return `PostgreSQL 15 -> ${options.targetMajor}`;
}

const USAGE = `Usage: npm run bench -- [--scale F] [--only big,many,tiny,wide,live] [--tools ${TOOL_NAMES.join(',')}]
                         [--jobs N] [--rounds N] [--live-seconds S] [--live-rate TPS] [--sync-timeout S] [--target-major ${TARGET_MAJORS.join('|')}] [--out FILE]
Environment: BENCH_SCALE, BENCH_ONLY, BENCH_TOOLS, BENCH_JOBS, BENCH_ROUNDS, BENCH_TARGET_MAJOR (flags win).`;

function list<T extends string>(raw: string | undefined, allowed: readonly T[], what: string): readonly T[] {
  if (raw === undefined || raw.trim() === '') return allowed;
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) throw new Error(`Unknown ${what} "${name}"; known: ${allowed.join(', ')}\n${USAGE}`);
  }
  return allowed.filter((name) => names.includes(name));
}

function positive(raw: string | undefined, fallback: number, what: string, allowZero = false): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new Error(`${what} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"\n${USAGE}`);
  return value;
}

export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scale: { type: 'string' },
      only: { type: 'string' },
      tools: { type: 'string' },
      jobs: { type: 'string' },
      rounds: { type: 'string' },
      'live-seconds': { type: 'string' },
      'live-rate': { type: 'string' },
      'sync-timeout': { type: 'string' },
      'target-major': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const jobs = positive(values.jobs ?? env['BENCH_JOBS'], 2, '--jobs');
  return {
    scale: positive(values.scale ?? env['BENCH_SCALE'], 1, '--scale'),
    workloads: list(values.only ?? env['BENCH_ONLY'], WORKLOAD_NAMES, 'workload'),
    tools: list(values.tools ?? env['BENCH_TOOLS'], TOOL_NAMES, 'tool'),
    jobs: Math.max(1, Math.round(jobs)),
    rounds: Math.max(1, Math.round(positive(values.rounds ?? env['BENCH_ROUNDS'], 1, '--rounds'))),
    liveSeconds: positive(values['live-seconds'], 10, '--live-seconds', true),
    liveRate: positive(values['live-rate'], 0, '--live-rate', true),
    syncTimeoutSeconds: positive(values['sync-timeout'], 1800, '--sync-timeout'),
    targetMajor: targetMajor(values['target-major'] ?? env['BENCH_TARGET_MAJOR']),
    out: values.out ?? 'bench/results/latest.json',
  };
}

function targetMajor(raw: string | undefined): TargetMajor {
  if (raw === undefined) return 15;
  const found = TARGET_MAJORS.find((major) => String(major) === raw.trim());
  if (found === undefined) throw new Error(`--target-major must be one of ${TARGET_MAJORS.join(', ')}, got "${raw}"\n${USAGE}`);
  return found;
}
