/** What every migration tool under test provides, and what one run of it gives back. */
import type { Cluster } from '../clusters.js';
import type { ToolName } from '../options.js';

export interface RunContext {
  readonly source: Cluster;
  /** A fresh, empty destination cluster. */
  readonly target: Cluster;
  readonly database: string;
  readonly jobs: number;
  /** How long a replication may take to be there before the run fails. */
  readonly syncTimeoutMs: number;
  /** The environment for client tools, with the clusters' password. */
  readonly env: NodeJS.ProcessEnv;
  readonly password: string;
  /** A scratch directory of this run, removed after it. */
  readonly workDir: string;
  /**
   * Called once the data is there in the tool's own terms (restored, or every
   * table replicating) and the clock has stopped, before the tool tears
   * anything down: the bench checks the destination here.
   */
  readonly reached: () => Promise<void>;
}

export interface ToolRun {
  /** From start to the data being there (a replication's `syncing`/`ready`). */
  readonly seconds: number;
  /** Peak resident memory of the tool's process, when measured. */
  readonly maxRssKb?: number;
  /** The same process's resident memory before it started work. */
  readonly baselineRssKb?: number;
  /** CPU seconds (user + system) the tool's own process spent to that point, when measured. */
  readonly cpuSeconds?: number;
  /** How long tearing the replication down took (the library's `stop()`). */
  readonly stopSeconds?: number;
}

export interface Tool {
  readonly name: ToolName;
  /** How the tool is run, for the report. */
  readonly label: string;
  /** Why the tool cannot run on this machine, or undefined when it can. */
  unavailable(): string | undefined;
  run(context: RunContext): Promise<ToolRun>;
}

export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
