/**
 * `npm run bench`: every selected workload, generated once on a throwaway
 * source cluster, migrated by this library and by its peers onto fresh
 * destinations, each destination checked; then a table of seconds, ratios
 * and the targets, also written as JSON.
 *
 *   BENCH_SCALE=0.05 npm run bench
 *   npm run bench -- --scale 0.1 --only big,many --jobs 2
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stopAllBenchClusters } from './clusters.js';
import { describeMachine } from './machine.js';
import { majors, parseBenchOptions, type BenchOptions } from './options.js';
import { killChildren, toolEnv } from './processes.js';
import { formatReport, targetsOf, type BenchReport } from './report.js';
import { runWorkload, type WorkloadResult } from './run-workload.js';
import { WORKLOADS } from './workloads/index.js';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

let interrupted = false;

/** Ctrl-C or a kill: end the tools first, then the clusters, then exit. */
function cleanUpOnSignals(): void {
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: stopping the tools and the clusters…`);
      killChildren();
      void stopAllBenchClusters().finally(() => process.exit(130));
    });
  }
}

async function bench(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date();
  const started = process.hrtime.bigint();
  const machine = describeMachine();
  const password = randomBytes(12).toString('hex');
  const env = toolEnv(password);
  const workloads: WorkloadResult[] = [];
  try {
    for (const name of options.workloads) workloads.push(await runWorkload(WORKLOADS[name], { options, password, env, log }));
  } finally {
    killChildren();
    await stopAllBenchClusters();
  }
  return {
    startedAt: startedAt.toISOString(),
    wallSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    loadAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
    options,
    machine,
    workloads,
    targets: targetsOf(workloads),
  };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  cleanUpOnSignals();
  log(`scale ${options.scale}, jobs ${options.jobs}, ${majors(options)}, workloads ${options.workloads.join(', ')}, tools ${options.tools.join(', ')}`);
  const report = await bench(options);
  process.stdout.write(`\n${formatReport(report)}\n`);
  const out = resolve(options.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`results written to ${out}`);
  const failed = report.workloads.some((w) => w.runs.some((r) => r.status === 'failed' || r.status === 'incomplete'));
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Queries cut short by an interruption fail on their way out; that is no news.
    if (interrupted) return;
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
