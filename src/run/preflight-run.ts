/**
 * Preflight as a run performs it: both clusters' facts, the earlier runs'
 * records, every check (each emitted as it is judged), and a plan per
 * database.
 *
 * @module
 */
import { okAsync, type ResultAsync } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import { query } from '../pg/connect.js';
import type { PreflightFacts } from '../preflight/facts.js';
import { gatherFacts, judge } from '../preflight/preflight.js';
import type { PreflightReport } from '../preflight/report.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';
import { readStates, type DatabaseRecord } from '../state/state-store.js';
import type { RunContext } from './context.js';

export interface Preflighted {
  readonly report: PreflightReport;
  readonly facts: PreflightFacts;
  /** The earlier runs' records the plan was made from. */
  readonly records: readonly DatabaseRecord[];
  /** When the facts were read (epoch ms). */
  readonly at: number;
}

/** Told the source databases a preflight selects, as soon as it knows them. */
export type OnSelected = (databases: readonly DatabaseInfo[]) => void;

export function runPreflight(context: RunContext, onSelected?: OnSelected): ResultAsync<Preflighted, MigrationError> {
  const { options, redactor, clusters } = context;
  return clusters.of('source').andThen((source) =>
    clusters.of('target').andThen((target) =>
      context
        .tools()
        // A missing pg_dump is a finding of the report, not a failure to report.
        .orElse((error) => okAsync(error))
        .andThen((tools) =>
          query(target, redactor, 'internal', 'Reading the migration state', readStates).andThen((previous) =>
            gatherFacts({ options, redactor, source, target, tools, previous, onSelected }).map((facts) => ({ facts, previous })),
          ),
        )
        .map(({ facts, previous }) => {
          const report = judge(facts);
          for (const check of report.checks) context.emit({ type: 'check', check });
          return { report, facts, records: previous, at: Date.now() };
        }),
    ),
  );
}

/** How long a preflight's plan may be reused by migrate(). */
const REUSABLE_MS = 10 * 60 * 1000;

/**
 * The preflight a run goes by: `prepared` (one this Migrator just made) when
 * it is recent and no run changed the records since, else a new one. Read
 * under the run's lock, so no run can change them after this.
 */
export function preflightFor(context: RunContext, prepared: Preflighted | undefined, onSelected?: OnSelected): ResultAsync<Preflighted, MigrationError> {
  if (!prepared || Date.now() - prepared.at > REUSABLE_MS) return runPreflight(context, onSelected);
  return context.clusters
    .of('target')
    .andThen((target) => query(target, context.redactor, 'internal', 'Reading the migration state', readStates))
    .andThen((records) => (JSON.stringify(records) === JSON.stringify(prepared.records) ? okAsync(prepared) : runPreflight(context, onSelected)));
}
