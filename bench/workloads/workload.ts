/** What every workload provides: a database on the source, generated once per bench run. */
import type { Cluster } from '../clusters.js';
import type { WorkloadName } from '../options.js';

export interface GenerateContext {
  readonly source: Cluster;
  readonly scale: number;
  /** The environment for client tools (pgbench), with the clusters' password. */
  readonly env: NodeJS.ProcessEnv;
}

export interface Workload {
  readonly name: WorkloadName;
  /** The database generated on the source and migrated by every tool. */
  readonly database: string;
  /** What was generated at this scale, in a few words. */
  describe(scale: number): string;
  generate(context: GenerateContext): Promise<void>;
}

/** `full` scaled, never below `min`. */
export function scaled(full: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(full * scale));
}
