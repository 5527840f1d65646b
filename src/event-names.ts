/**
 * Every event name a Migrator emits (each event also arrives as `progress`),
 * for validating a name from configuration or a command line.
 *
 * ### Examples
 * ```ts
 * import { EVENT_NAMES, type EventName } from 'datalakehouse-db-migrate';
 * const isEventName = (value: string): value is EventName => (EVENT_NAMES as readonly string[]).includes(value);
 * ```
 *
 * @module
 */
import type { MigratorEvents } from './events.js';

export const EVENT_NAMES = Object.freeze([
  'progress',
  'check',
  'plan',
  'database:start',
  'schema',
  'copy:start',
  'table:copied',
  'copy:progress',
  'objects:copied',
  'replication:state',
  'replication:rights',
  'cutover',
  'catch-up',
  'verify:table',
  'verify:database',
  'database:done',
  'warning',
] as const satisfies readonly (keyof MigratorEvents)[]);

/** A name {@link MigratorEvents} has. */
export type EventName = keyof MigratorEvents;

// Every name of MigratorEvents is listed: a new event that is not fails to compile here.
type Missing = Exclude<keyof MigratorEvents, (typeof EVENT_NAMES)[number]>;
const everyName: [Missing] extends [never] ? true : Missing = true;
void everyName;
