/**
 * The bench's results: seconds per workload and tool, ratios against the
 * library, the issue's targets with pass/fail, memory and the live run, as
 * text for the terminal and as JSON for a file.
 */
import type { Machine } from './machine.js';
import { majors, type BenchOptions, type ToolName, type WorkloadName } from './options.js';
import { TOOLS } from './peers/index.js';
import type { RunResult, WorkloadResult } from './run-workload.js';

export interface Target {
  readonly workload: WorkloadName;
  readonly goal: string;
  /** The measured value the goal is about; null when a run it needs is missing or failed. */
  readonly value: number | null;
  /** null: not measured in this run. */
  readonly pass: boolean | null;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly wallSeconds: number;
  /** Load averages when the bench ended; with the machine's at start, a sign of other work running meanwhile. */
  readonly loadAtEnd: readonly number[];
  readonly options: BenchOptions;
  readonly machine: Machine;
  readonly workloads: readonly WorkloadResult[];
  readonly targets: readonly Target[];
}

const MEMORY_LIMIT_MB = 256;

/** Seconds of a run that completed and checked out; undefined otherwise. */
function okSeconds(workload: WorkloadResult, tool: ToolName): number | undefined {
  const run = workload.runs.find((r) => r.tool === tool);
  return run?.status === 'ok' ? run.seconds : undefined;
}

function ratio(numerator: number | undefined, denominator: number | undefined): number | null {
  return numerator === undefined || denominator === undefined || denominator === 0 ? null : numerator / denominator;
}

function target(workload: WorkloadName, goal: string, value: number | null, test: (value: number) => boolean): Target {
  return { workload, goal, value, pass: value === null ? null : test(value) };
}

export function targetsOf(workloads: readonly WorkloadResult[]): Target[] {
  const targets: Target[] = [];
  for (const w of workloads) {
    const us = okSeconds(w, 'us-dump');
    const repl = okSeconds(w, 'us-replication');
    const pipe = okSeconds(w, 'pg_dump-pipe');
    const dir = okSeconds(w, 'pg_dump-dir');
    const copydb = okSeconds(w, 'pgcopydb');
    const sub = okSeconds(w, 'subscription');
    switch (w.name) {
      case 'big':
        targets.push(target('big', 'us (dump) no slower than pgcopydb clone: pgcopydb / us >= 1.00', ratio(copydb, us), (v) => v >= 1));
        targets.push(target('big', 'pg_dump -Fc → pg_restore / us (dump) >= 1.35', ratio(pipe, us), (v) => v >= 1.35));
        break;
      case 'many': {
        const peers = [dir, copydb].filter((s): s is number => s !== undefined);
        targets.push(target('many', 'best of (pg_dump -jN + pg_restore -jN, pgcopydb) / us (dump) >= 1.25', ratio(peers.length ? Math.min(...peers) : undefined, us), (v) => v >= 1.25));
        targets.push(target('many', 'pg_dump -Fc → pg_restore / us (dump) >= 2.00', ratio(pipe, us), (v) => v >= 2));
        break;
      }
      case 'tiny':
        targets.push(target('tiny', 'pg_dump -Fc → pg_restore / us (dump) >= 1.25', ratio(pipe, us), (v) => v >= 1.25));
        break;
      case 'wide': {
        const run = w.runs.find((r) => r.tool === 'us-dump');
        const mb = run?.status === 'ok' && run.maxRssKb !== undefined ? run.maxRssKb / 1024 : null;
        targets.push(target('wide', `peak RSS of the library (dump) < ${MEMORY_LIMIT_MB} MB`, mb, (v) => v < MEMORY_LIMIT_MB));
        break;
      }
      case 'live': {
        const run = w.runs.find((r) => r.tool === 'us-replication');
        targets.push(target('live', 'lag back to zero within 5 s of the writers stopping (s)', run?.live?.catchUpSeconds ?? null, (v) => v <= 5));
        targets.push(target('live', 'no row lost or doubled (1 = equal)', run?.live ? (run.live.rowsEqual && run.status === 'ok' ? 1 : 0) : null, (v) => v === 1));
        break;
      }
    }
    if (w.name !== 'live') {
      targets.push(target(w.name, 'us (replication to syncing) / us (dump) <= 1.15', ratio(repl, us), (v) => v <= 1.15));
      targets.push(target(w.name, 'plain subscription / us (replication) >= 1.25', ratio(sub, repl), (v) => v >= 1.25));
    }
  }
  return targets;
}

// ---- text ----

const COLUMNS: readonly { tool: ToolName; head: string }[] = [
  { tool: 'us-dump', head: 'us dump' },
  { tool: 'us-replication', head: 'us repl' },
  { tool: 'pg_dump-pipe', head: 'dump→restore' },
  { tool: 'pg_dump-dir', head: 'dump -jN, restore -jN' },
  { tool: 'subscription', head: 'subscription' },
  { tool: 'pgcopydb', head: 'pgcopydb' },
];

function cell(run: RunResult | undefined): string {
  if (!run) return '–';
  switch (run.status) {
    case 'ok':
      return (run.seconds ?? 0).toFixed(1);
    case 'incomplete':
      return `${(run.seconds ?? 0).toFixed(1)} INCOMPLETE`;
    case 'failed':
      return 'FAILED';
    case 'unavailable':
      return 'not installed';
  }
}

/** A Markdown table; the first `textColumns` columns left-aligned, the others (numbers) right-aligned. */
function table(head: readonly string[], rows: readonly (readonly string[])[], textColumns = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number): boolean => i < textColumns;
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (left(i) ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** At most `width` values: the largest of each run of neighbouring samples, so no peak is lost. */
function downsample(values: readonly (number | null)[], width: number): (number | null)[] {
  if (values.length <= width) return [...values];
  const size = Math.ceil(values.length / width);
  const out: (number | null)[] = [];
  for (let i = 0; i < values.length; i += size) {
    const bucket = values.slice(i, i + size).filter((v): v is number => v !== null);
    out.push(bucket.length ? Math.max(...bucket) : null);
  }
  return out;
}

/** Every round's seconds of each tool, when there was more than one: how far one tool's runs differ. */
function roundsTable(workloads: readonly WorkloadResult[], rounds: number): string[] {
  if (rounds < 2) return [];
  const seconds = (run: RunResult | undefined): string =>
    run?.roundSeconds ? run.roundSeconds.map((s) => (s === null ? '–' : s.toFixed(1))).join(' / ') : cell(run);
  return [
    '',
    `Each round's seconds, in the order they ran:`,
    '',
    table(
      ['workload', ...COLUMNS.map((c) => c.head)],
      workloads.map((w) => [w.name, ...COLUMNS.map((c) => seconds(w.runs.find((r) => r.tool === c.tool)))]),
    ),
  ];
}

function x(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(2)}x`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export function formatReport(report: BenchReport): string {
  const { options, machine, workloads } = report;
  const out: string[] = [];
  out.push(
    `Bench: scale ${options.scale}, jobs ${options.jobs}, ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, load at start ${machine.loadAtStart.join(' ')}`,
    `${majors(options)}: ${machine.postgres}; ${machine.pgcopydb ?? 'pgcopydb not installed'}; node ${machine.node}; wall time ${report.wallSeconds.toFixed(0)} s, load at end ${report.loadAtEnd.join(' ')}`,
    '',
    `Seconds to a complete destination (replication: to syncing / every table ready)${options.rounds > 1 ? `, each tool's best of ${options.rounds} rounds` : ''}:`,
    '',
    table(
      ['workload', 'size', ...COLUMNS.map((c) => c.head)],
      workloads.map((w) => [w.name, mib(w.sourceBytes), ...COLUMNS.map((c) => cell(w.runs.find((r) => r.tool === c.tool)))]),
    ),
    ...roundsTable(workloads, options.rounds),
    '',
    'Ratios (> 1: we are faster), from the same run:',
    '',
    table(
      ['workload', 'dump→restore / us', 'dump -jN, restore -jN / us', 'pgcopydb / us', 'us repl / us dump', 'subscription / us repl'],
      workloads.map((w) => {
        const us = okSeconds(w, 'us-dump');
        const repl = okSeconds(w, 'us-replication');
        return [
          w.name,
          x(ratio(okSeconds(w, 'pg_dump-pipe'), us)),
          x(ratio(okSeconds(w, 'pg_dump-dir'), us)),
          x(ratio(okSeconds(w, 'pgcopydb'), us)),
          x(ratio(repl, us)),
          x(ratio(okSeconds(w, 'subscription'), repl)),
        ];
      }),
    ),
    '',
    'Peak RSS of the library\'s process (MB; at start in parentheses), and the CPU seconds that process spent to done/syncing:',
    '',
    table(
      ['workload', 'us dump', 'us repl', 'us dump CPU s', 'us repl CPU s', 'us repl stop() s'],
      workloads.map((w) => {
        const rss = (tool: ToolName): string => {
          const run = w.runs.find((r) => r.tool === tool);
          return run?.maxRssKb === undefined ? '–' : `${(run.maxRssKb / 1024).toFixed(0)} (${((run.baselineRssKb ?? 0) / 1024).toFixed(0)})`;
        };
        const stop = w.runs.find((r) => r.tool === 'us-replication')?.stopSeconds;
        const cpu = (tool: ToolName): string => {
          const seconds = w.runs.find((r) => r.tool === tool)?.cpuSeconds;
          return seconds === undefined ? '–' : seconds.toFixed(1);
        };
        return [w.name, rss('us-dump'), rss('us-replication'), cpu('us-dump'), cpu('us-replication'), stop === undefined ? '–' : stop.toFixed(1)];
      }),
    ),
  );
  const live = workloads.find((w) => w.name === 'live');
  if (live) {
    out.push('', `Live (pgbench -c 2${options.liveRate > 0 ? ` -R ${options.liveRate}` : ''} writing; writers stop ${options.liveSeconds} s after syncing):`, '');
    for (const run of live.runs) {
      const m = run.live;
      if (!m) {
        out.push(`  ${run.tool}: ${cell(run)}${run.error ? ` — ${run.error}` : ''}`);
        continue;
      }
      const lag = (from: number, to: number): string => {
        const values = m.samples.filter((s) => s.at >= from && s.at < to).map((s) => s.lagBytes);
        const shown = downsample(values, 24).map((v) => (v === null ? '·' : (v / 2 ** 20).toFixed(1))).join(' ');
        return values.length > 24 ? `${shown} (max of each ${Math.ceil(values.length / 24)} s)` : shown;
      };
      out.push(
        `  ${run.tool}: ${cell(run)} s to syncing; catch-up after the writers stopped: ${m.catchUpSeconds === null ? 'never (timed out)' : `${m.catchUpSeconds.toFixed(2)} s`}`,
        `    pgbench_history rows source/destination ${m.source.historyRows}/${m.target.historyRows}, sum(abalance) ${m.source.balanceSum}/${m.target.balanceSum}: ${m.rowsEqual ? 'equal' : 'DIFFERENT'}`,
        `    lag MiB each second (· no slot yet), to syncing: ${lag(0, m.syncingAt)}`,
        `    after syncing, writers running:                 ${lag(m.syncingAt, m.writersStoppedAt)}`,
        `    after the writers stopped:                      ${lag(m.writersStoppedAt, Number.POSITIVE_INFINITY)}`,
      );
    }
  }
  out.push('', 'Targets of the issue:', '');
  out.push(
    table(
      ['workload', 'goal', 'measured', 'result'],
      report.targets.map((t) => [t.workload, t.goal, t.value === null ? '–' : t.value.toFixed(2), t.pass === null ? 'not measured' : t.pass ? 'PASS' : 'FAIL']),
      2,
    ),
  );
  const notes = workloads.flatMap((w) =>
    w.runs
      .filter((r) => r.status === 'failed' || r.status === 'incomplete' || r.leftovers.length > 0)
      .map((r) => `  ${w.name} / ${r.tool}: ${[r.error, ...r.problems.slice(0, 5), r.leftovers.length ? `left on the source: ${r.leftovers.join(', ')}` : undefined].filter(Boolean).join('; ')}`),
  );
  if (notes.length) out.push('', 'Failures and findings:', ...notes);
  out.push('', 'Tools:', ...COLUMNS.map((c) => `  ${c.head}: ${TOOLS[c.tool].label}`));
  return out.join('\n');
}
