import type { MigrationEvent, Migrator } from '../../src/index.js';

/** Records every event a Migrator emits, for assertions and for secret scans. */
export function recordEvents(migrator: Migrator): MigrationEvent[] {
  const events: MigrationEvent[] = [];
  migrator.on('progress', (event) => events.push(event));
  return events;
}
