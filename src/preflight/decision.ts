import { decide, type Decision } from '../state/decide.js';
import type { DatabaseFacts, PreflightFacts } from './facts.js';

/** What a run does with a database, from preflight's facts: see {@link decide}. */
export function decisionFor(db: DatabaseFacts, facts: Pick<PreflightFacts, 'source' | 'allowNonEmptyTarget'>): Decision {
  return decide({
    dbname: db.targetName,
    record: db.previous,
    source: { systemId: facts.source.settings.systemIdentifier, databaseOid: db.info.oid },
    target: db.target,
    allowNonEmptyTarget: facts.allowNonEmptyTarget,
  });
}
