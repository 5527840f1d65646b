import type { Check, Finding } from '../facts.js';

/**
 * Publishing and subscribing need superuser (or RDS's `rds_superuser`) today;
 * roles keep their passwords only when the source user can read them.
 */
export const privileges: Check = ({ source, target }) => {
  const findings: Finding[] = [];
  const sourcePrivileged = source.rights.superuser || source.rights.rdsSuperuser;
  findings.push(
    sourcePrivileged
      ? { id: 'source-privileges', ok: true, side: 'source', message: `${source.rights.username} may publish on the source` }
      : {
          id: 'source-privileges',
          ok: false,
          side: 'source',
          blocks: 'replication',
          message: `${source.rights.username} is not a superuser (nor rds_superuser) on the source, so it cannot publish all tables`,
          hint: 'Connect to the source as a superuser (on RDS, a member of rds_superuser), or migrate with method dump.',
        },
  );
  findings.push(
    target.rights.superuser || target.rights.rdsSuperuser
      ? { id: 'target-privileges', ok: true, side: 'target', message: `${target.rights.username} may subscribe on the destination` }
      : {
          id: 'target-privileges',
          ok: false,
          side: 'target',
          blocks: 'replication',
          message: `${target.rights.username} is not a superuser on the destination, so it cannot create subscriptions`,
          hint: 'Connect to the destination as its admin user (superuser), or migrate with method dump.',
        },
  );
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
      message: 'Role passwords cannot be read without superuser on the source: roles are copied without them',
      hint: 'Set the passwords on the destination after the migration.',
    });
  }
  return findings;
};
