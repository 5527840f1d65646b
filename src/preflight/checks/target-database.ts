import { decisionFor } from '../decision.js';
import type { Check } from '../facts.js';

/**
 * A destination database is filled only if it is empty, the caller allows
 * it, or it is provably the one this migration created from this source:
 * never on top of someone else's data, never on a name alone.
 */
export const targetDatabase: Check = (facts) =>
  facts.databases.map((db) => {
    const decision = decisionFor(db, facts);
    return decision.action === 'refuse'
      ? {
          id: 'target-database',
          ok: false,
          side: 'target' as const,
          database: db.info.name,
          blocks: 'migration' as const,
          message: decision.reason,
          hint: decision.hint,
        }
      : { id: 'target-database', ok: true, database: db.info.name, message: decision.reason };
  });
