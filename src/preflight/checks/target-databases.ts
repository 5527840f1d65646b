import type { Check, Finding } from '../facts.js';

/**
 * A destination database is filled only if it is empty or this migration
 * made it: never on top of someone else's data.
 */
export const targetDatabases: Check = ({ databases, unknownDatabases }) => {
  const findings: Finding[] = unknownDatabases.map((name) => ({
    id: 'databases',
    ok: false,
    side: 'source' as const,
    blocks: 'migration' as const,
    message: `Database "${name}" was asked for but does not exist on the source`,
    hint: 'Check the databases option.',
  }));
  for (const db of databases) {
    const name = db.info.name;
    const previous = db.previous;
    // Finished, still replicating, or ours to drop and redo: anything else with tables is not ours to touch.
    const ours = previous !== undefined && (previous.status === 'done' || db.subscriptionExists || previous.createdDatabase);
    if (db.target.hasUserTables && !ours) {
      findings.push({
        id: 'target-empty',
        ok: false,
        side: 'target',
        database: name,
        blocks: 'migration',
        message: previous
          ? `Database "${name}" on the destination holds a partial earlier attempt (${previous.status}) in a database this migration did not create`
          : `Database "${name}" already has tables on the destination that this migration did not create`,
        hint: 'Drop or empty it on the destination, or leave it out with ignoreDatabases.',
      });
    } else {
      findings.push({
        id: 'target-empty',
        ok: true,
        database: name,
        message: ours
          ? `"${name}" was started by an earlier run (${previous?.status}); this run keeps, resumes or redoes it`
          : db.target.exists
            ? `"${name}" exists on the destination and is empty`
            : `"${name}" will be created on the destination`,
      });
    }
  }
  return findings;
};
