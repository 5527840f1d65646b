import type { Check, Finding } from '../facts.js';
import { pathsOf } from '../rights.js';

/**
 * Per database and side, the right replication would publish or subscribe
 * by (see paths.ts), or what is missing and the statement that grants it;
 * then what the roles may do whatever the method.
 */
export const privileges: Check = (facts) => {
  const { source, target } = facts;
  const findings: Finding[] = [];
  for (const db of facts.databases) {
    const database = db.info.name;
    const paths = pathsOf(db, facts);
    findings.push(
      paths.source.ok
        ? { id: 'source-privileges', ok: true, side: 'source', database, message: `Publishes "${database}" as ${paths.source.path}: ${paths.source.detail}` }
        : { id: 'source-privileges', ok: false, side: 'source', database, blocks: 'replication', message: `Cannot publish "${database}": ${paths.source.missing}`, hint: paths.source.fix },
      paths.target.ok
        ? { id: 'target-privileges', ok: true, side: 'target', database, message: `Subscribes "${database}" as ${paths.target.path}: ${paths.target.detail}` }
        : { id: 'target-privileges', ok: false, side: 'target', database, blocks: 'replication', message: `Cannot subscribe "${database}": ${paths.target.missing}`, hint: paths.target.fix },
    );
  }
  if (!target.rights.superuser && !target.rights.createdb) {
    findings.push({
      id: 'target-createdb',
      ok: false,
      side: 'target',
      message: `${target.rights.username} may not create databases on the destination; only existing ones can be filled`,
      hint: 'Grant CREATEDB to the destination user, or create the databases first.',
    });
  }
  if (!source.rights.superuser) {
    findings.push({
      id: 'role-passwords',
      ok: false,
      side: 'source',
      message: 'Role passwords cannot be read without superuser on the source: login roles are created without a password',
      hint: 'Set each login role\'s password on the destination after the migration (ALTER ROLE name PASSWORD ...).',
    });
  }
  return findings;
};
