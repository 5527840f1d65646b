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
import { readStates } from '../state/state-store.js';
import type { RunContext } from './context.js';

export interface Preflighted {
  readonly report: PreflightReport;
  readonly facts: PreflightFacts;
}

export function runPreflight(context: RunContext): ResultAsync<Preflighted, MigrationError> {
  const { options, redactor, clusters } = context;
  return clusters.of('source').andThen((source) =>
    clusters.of('target').andThen((target) =>
      context
        .tools()
        // A missing pg_dump is a finding of the report, not a failure to report.
        .orElse((error) => okAsync(error))
        .andThen((tools) =>
          query(target, redactor, 'internal', 'Reading the migration state', readStates).andThen((previous) =>
            gatherFacts({ options, redactor, source, target, tools, previous }),
          ),
        )
        .map((facts) => {
          const report = judge(facts);
          for (const check of report.checks) context.emit({ type: 'check', check });
          return { report, facts };
        }),
    ),
  );
}
