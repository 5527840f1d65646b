/** What the bench ran on: CPUs, memory, load, and the versions of the tools. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { PG_BIN } from './processes.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the bench started: other work on the machine shows here. */
  readonly loadAtStart: readonly number[];
  readonly node: string;
  readonly postgres: string;
  readonly pgcopydb: string | null;
}

function version(file: string): string | null {
  try {
    return execFileSync(file, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n')[0] ?? null;
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
    node: process.version,
    postgres: version(`${PG_BIN}/postgres`) ?? 'unknown',
    pgcopydb: version('pgcopydb'),
  };
}
