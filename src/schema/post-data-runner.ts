/**
 * Runs post-data steps on the destination the way `pg_restore --jobs`
 * schedules them: up to `jobs` at once, each after the steps it depends on,
 * never an exclusive-locking step beside another step on the same table
 * (which would only wait, or deadlock), privileges after everything else and
 * event triggers last. The first failure stops new steps from starting and
 * is reported, naming the object, once the running ones settle.
 *
 * @module
 */
import { Cancelled } from '../util/cancellation.js';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import { connectionLost, isConnectionLoss, toCause, type Connection } from '../pg/connect.js';
import type { Sql } from 'postgres';
import type { Redactor } from '../redact.js';
import type { PostDataStep, RestorePass } from './post-data-plan.js';

export interface RunStepsOptions {
  /** At most this many steps at once: the share of the caller's budget these steps may use. */
  readonly jobs: number;
  readonly redactor: Redactor;
  /** Stops new steps from starting; the running ones finish. */
  readonly signal?: AbortSignal | undefined;
  /** The hint of a statement the destination refuses, when the caller knows better than the usual causes. */
  readonly refusedHint?: string | undefined;
  /**
   * Runs the steps, and then `then`, as one script: one round trip and one
   * transaction instead of one a step (see {@link runTogether}).
   */
  readonly together?: Together | undefined;
}

export interface Together {
  /** A statement run last, in the same transaction. */
  readonly then?: string;
  /**
   * The script's index builds use no parallel workers
   * (`max_parallel_maintenance_workers = 0` for its transaction).
   */
  readonly serialBuilds?: boolean;
}

const PASS_ORDER: Record<RestorePass, number> = { main: 0, acl: 1, 'post-acl': 2 };

/**
 * Runs `steps` on `target`. A step's dependencies outside `steps` are taken
 * as done: the caller runs the plan's groups in order.
 *
 * ### Examples
 * ```ts
 * const built = await runSteps(target, plan.forTable('public', 'orders'), { jobs: 1, redactor });
 * ```
 */
export function runSteps(target: Connection, steps: readonly PostDataStep[], options: RunStepsOptions): ResultAsync<void, MigrationError> {
  if (options.together) return runTogether(target, steps, { ...options, together: options.together });
  const run = (step: PostDataStep, sql: string): Promise<void> =>
    knownSettings(target.sql)
      .then((known) => {
        const settings = step.settings.filter((statement) => known(statement));
        return target.sql.unsafe([...settings, sql].join('\n')).simple();
      })
      .then(
        () => undefined,
        (error: unknown) => {
          throw new StepFailed(step, error);
        },
      );
  return ResultAsync.fromPromise(schedule(steps, options, run), (error) => describeFailure(target, error, options.redactor, options.refusedHint));
}

function describeFailure(target: Connection, error: unknown, redactor: Redactor, refusedHint?: string): MigrationError {
  const where = `the post-data schema of "${target.database}"`;
  if (error instanceof Cancelled) return migrationError('cancelled', `Restoring ${where} was cancelled`, { side: target.side, database: target.database });
  const failed = error instanceof StepFailed ? error : undefined;
  const cause = toCause(failed ? failed.error : error, redactor);
  const what = failed ? `Restoring ${where} at ${failed.step.label}` : `Restoring ${where}`;
  if (isConnectionLoss(failed ? failed.error : error)) return connectionLost(what, cause, target);
  return migrationError('schema', `${what} failed: ${cause.message}`, {
    side: target.side,
    database: target.database,
    cause,
    hint: refusedHint ?? 'A schema statement failed on the destination; fix its cause (often a missing extension or role, or data that breaks a constraint) and run again.',
  });
}

/**
 * The steps of one table, and the statement after them (its ANALYZE), sent
 * as one multi-statement query: they run in one implicit transaction, in
 * the order the one-at-a-time runner would take them. On "tiny" (2,000
 * tables of 100 rows, a primary key and an index each) a step's own round
 * trip cost more than building its index: each is a socket write of ~60 µs
 * on this machine's loopback, and a query's turn on the server. When the
 * script fails, nothing of it stayed, and the steps run again one at a time
 * so that the failure names its step.
 */
function runTogether(
  target: Connection,
  steps: readonly PostDataStep[],
  options: RunStepsOptions & { readonly together: Together },
): ResultAsync<void, MigrationError> {
  if (options.signal?.aborted) return errAsync(describeFailure(target, new Cancelled(), options.redactor));
  const ordered = inRunOrder(steps);
  const then = options.together.then;
  if (ordered.length === 0 && !then) return okAsync(undefined);
  const script = knownSettings(target.sql).then((known) => target.sql.unsafe(togetherScript(ordered, options.together, known)).simple());
  return ResultAsync.fromPromise(script, (error) => error).map(() => undefined).orElse((error) => {
    if (options.signal?.aborted) return errAsync(describeFailure(target, new Cancelled(), options.redactor));
    if (isConnectionLoss(error)) return errAsync(describeFailure(target, error, options.redactor));
    const oneByOne = { ...options, together: undefined };
    return runSteps(target, steps, oneByOne).andThen(() =>
      then ? ResultAsync.fromPromise(target.sql.unsafe(then).simple(), (thenError) => describeFailure(target, thenError, options.redactor, options.refusedHint)).map(() => undefined) : okAsync(undefined),
    );
  });
}

/**
 * The script {@link runTogether} sends: each step's statement after the
 * settings pg_restore has in force for it, each setting said only when it
 * changes, as pg_restore itself says them. The script is one transaction,
 * where a `SET LOCAL` holds until its end. Said before every step, the
 * eleven settings of a schema dump made a bundle of 64 small tables' script
 * 1,400 statements longer, and cost the destination 0.1 ms a step.
 */
export function togetherScript(
  ordered: readonly { readonly step: PostDataStep; readonly sql: string }[],
  together: Together,
  known: (statement: string) => boolean = () => true,
): string {
  const statements = together.serialBuilds ? ['SET LOCAL max_parallel_maintenance_workers = 0;'] : [];
  const inForce = new Map<string, string>();
  for (const { step, sql } of ordered) {
    for (const setting of step.settings) {
      const name = settingName(setting);
      if (name !== undefined && inForce.get(name) === setting) continue;
      if (name !== undefined) inForce.set(name, setting);
      statements.push(setting);
    }
    statements.push(sql);
  }
  return statements
    .filter((statement) => known(statement))
    .concat(together.then ? [together.then] : [])
    .join('\n');
}

/** The setting a `SET LOCAL name = …;` or `SELECT pg_catalog.set_config('name', …, true);` sets. */
function settingName(statement: string): string | undefined {
  return /^SET LOCAL (\w+) = /.exec(statement)?.[1] ?? /^SELECT pg_catalog\.set_config\('(\w+)', /.exec(statement)?.[1];
}

/** The order the scheduler takes steps in with one job: the first ready one each time. */
export function inRunOrder(steps: readonly PostDataStep[]): { step: PostDataStep; sql: string }[] {
  const inBatch = new Set(steps.map((step) => step.id));
  const done = new Set<number>();
  const pending = steps.map((step) => ({ step, sql: step.sql }));
  const ordered: { step: PostDataStep; sql: string }[] = [];
  while (pending.length > 0) {
    const earliest = Math.min(...pending.map((p) => PASS_ORDER[p.step.pass]));
    const index = pending.findIndex((p) => PASS_ORDER[p.step.pass] === earliest && p.step.dependsOn.every((dep) => !inBatch.has(dep) || done.has(dep)));
    // A cycle the scheduler would refuse: left to it, which names the steps.
    if (index === -1) return [...ordered, ...pending];
    const [next] = pending.splice(index, 1) as [{ step: PostDataStep; sql: string }];
    done.add(next.step.id);
    ordered.push(next);
  }
  return ordered;
}

const settingsBySql = new WeakMap<Sql, Promise<(statement: string) => boolean>>();

/** Settings a script may carry that older servers lack. */
const NEWER_SETTINGS = ['transaction_timeout', 'max_parallel_maintenance_workers'];

/**
 * Which settings of a script the destination knows: a newer pg_restore
 * writes `SET transaction_timeout` in its script, but sends it only to
 * servers that have it when it restores itself; parallel index builds came
 * with PostgreSQL 11.
 */
function knownSettings(sql: Sql): Promise<(statement: string) => boolean> {
  let known = settingsBySql.get(sql);
  if (!known) {
    known = sql<{ name: string }[]>`select name from pg_settings where name = any(${NEWER_SETTINGS})`.then((rows) => {
      const missing = NEWER_SETTINGS.filter((name) => !rows.some((row) => row.name === name));
      return (statement: string) => !missing.some((name) => statement.startsWith(`SET LOCAL ${name} `));
    });
    known.catch(() => settingsBySql.delete(sql));
    settingsBySql.set(sql, known);
  }
  return known;
}

class StepFailed extends Error {
  constructor(
    readonly step: PostDataStep,
    readonly error: unknown,
  ) {
    super(step.label);
  }
}


function schedule(steps: readonly PostDataStep[], options: RunStepsOptions, run: (step: PostDataStep, sql: string) => Promise<void>): Promise<void> {
  const inBatch = new Set(steps.map((step) => step.id));
  const done = new Set<number>();
  const pending = steps.map((step) => ({ step, sql: step.sql }));
  const running = new Map<number, PostDataStep>();
  const jobs = Math.max(1, Math.floor(options.jobs));
  // Steps not yet done, per pass: a step waits while an earlier pass has any.
  const unfinished = [0, 0, 0];
  for (const { step } of pending) unfinished[PASS_ORDER[step.pass]] = (unfinished[PASS_ORDER[step.pass]] ?? 0) + 1;

  const ready = (step: PostDataStep): boolean => {
    const pass = PASS_ORDER[step.pass];
    for (let earlier = 0; earlier < pass; earlier++) if ((unfinished[earlier] ?? 0) > 0) return false;
    if (!step.dependsOn.every((dep) => !inBatch.has(dep) || done.has(dep))) return false;
    for (const other of running.values()) if (conflicts(step, other) || conflicts(other, step)) return false;
    return true;
  };

  return new Promise((resolve, reject) => {
    let failure: { error: unknown } | undefined;
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve();
      else reject(error);
    };
    const pump = (): void => {
      if (!failure && options.signal?.aborted) failure = { error: new Cancelled() };
      if (failure) {
        if (running.size === 0) settle(failure.error);
        return;
      }
      while (running.size < jobs) {
        const index = pending.findIndex((p) => ready(p.step));
        if (index === -1) break;
        const [next] = pending.splice(index, 1);
        if (!next) break;
        running.set(next.step.id, next.step);
        run(next.step, next.sql).then(
          () => {
            done.add(next.step.id);
            running.delete(next.step.id);
            unfinished[PASS_ORDER[next.step.pass]] = (unfinished[PASS_ORDER[next.step.pass]] ?? 1) - 1;
            pump();
          },
          (error: unknown) => {
            failure ??= { error };
            running.delete(next.step.id);
            pump();
          },
        );
      }
      if (running.size > 0) return;
      if (pending.length === 0) settle();
      else settle(new Error(`No step can start: ${pending.map((p) => p.step.label).join(', ')} wait for one another`));
    };
    pump();
  });
}

/** pg_restore's rule: a step that locks a table exclusively waits for every running step on that table. */
function conflicts(locking: PostDataStep, other: PostDataStep): boolean {
  return locking.locks.some((table) => other.dependsOn.includes(table));
}
