/**
 * What each state of a database's migration means, and which changes between
 * them are allowed. This is the one place that says so: the store refuses a
 * change this table does not list, and status, stop and re-runs read their
 * meaning from here.
 *
 * @module
 */
import type { DatabaseState } from '../status.js';

/** A state a database's record can hold (`pending` is never stored: it is the absence of a record). */
export type RecordedState = Exclude<DatabaseState, 'pending'>;

/** The meaning of every state, as status and the docs tell it. */
export const STATE_MEANINGS: Readonly<Record<DatabaseState, string>> = {
  pending: 'planned: the source has it and no run has started it',
  running: 'a run is moving its schema or data now (a record left running by a process that died reads as failed)',
  syncing:
    'replication only: every published table is ready on the destination with its rows, the subscription is enabled and ' +
    'applying, the slot on the source is valid and the lag is within bounds — checked again on every read',
  done:
    'its data is on the destination: a dump finished, or a replication was stopped after the destination applied ' +
    'everything the source had written when the stop began — true only while the destination database is the one this ' +
    'migration filled, from the same source',
  failed: 'it did not get there; `error` says why and what to do',
};

/**
 * The allowed changes. `done` is left only when its claim no longer holds
 * (the destination database vanished): the next run starts it again.
 */
const TRANSITIONS: Readonly<Record<RecordedState | 'none', readonly RecordedState[]>> = {
  none: ['running', 'failed'],
  running: ['running', 'syncing', 'done', 'failed'],
  syncing: ['running', 'syncing', 'done', 'failed'],
  failed: ['running', 'failed'],
  done: ['running', 'done'],
};

/** True when a record in `from` (or no record) may change to `to`. */
export function canTransition(from: RecordedState | undefined, to: RecordedState): boolean {
  return TRANSITIONS[from ?? 'none'].includes(to);
}

/** The states a record may be in to move to `to`: what the store's update requires atomically. */
export function statesLeadingTo(to: RecordedState): RecordedState[] {
  return (Object.keys(TRANSITIONS) as (RecordedState | 'none')[]).filter(
    (from): from is RecordedState => from !== 'none' && TRANSITIONS[from].includes(to),
  );
}

/** A dump that is `done`, or a replication that is `syncing`: where the migration guide says stopping is safe. */
export function isSettled(method: 'replication' | 'pg_dump', state: DatabaseState): boolean {
  return state === 'done' || (method === 'replication' && state === 'syncing');
}
