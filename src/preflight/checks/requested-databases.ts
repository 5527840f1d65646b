import type { Check } from '../facts.js';

/** Every database the caller named must exist on the source: a typo would otherwise migrate nothing, silently. */
export const requestedDatabases: Check = ({ unknownDatabases }) =>
  unknownDatabases.map((name) => ({
    id: 'requested-databases',
    ok: false,
    side: 'source' as const,
    blocks: 'migration' as const,
    message: `Database "${name}" was asked for but does not exist on the source`,
    hint: 'Check the databases option.',
  }));
