import type { Check, Finding } from '../facts.js';
import { pathsOf } from '../rights.js';
import type { StatementRecorder } from '../../pg/queries/statement-records.js';

/**
 * Per database and side, the right replication would publish or subscribe
 * by (see paths.ts), or what is missing and the statement that grants it;
 * then what the roles may do whatever the method.
 */
export const privileges: Check = (facts) => {
  const { source, target } = facts;
  const findings: Finding[] = [];
  let subscribes = false;
  for (const db of facts.databases) {
    const database = db.info.name;
    const paths = pathsOf(db, facts);
    subscribes ||= paths.target.ok;
    findings.push(
      paths.source.ok
        ? { id: 'source-privileges', ok: true, side: 'source', database, message: `Publishes "${database}" as ${paths.source.path}: ${paths.source.detail}` }
        : { id: 'source-privileges', ok: false, side: 'source', database, blocks: 'replication', message: `Cannot publish "${database}": ${paths.source.missing}`, hint: paths.source.fix },
      paths.target.ok
        ? { id: 'target-privileges', ok: true, side: 'target', database, message: `Subscribes "${database}" as ${paths.target.path}: ${paths.target.detail}` }
        : { id: 'target-privileges', ok: false, side: 'target', database, blocks: 'replication', message: `Cannot subscribe "${database}": ${paths.target.missing}`, hint: paths.target.fix },
    );
  }
  const kept = subscribes ? passwordRecords(target.statementRecorders, target.rights.username) : undefined;
  if (kept) findings.push(kept);
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

/**
 * The subscription's connection string holds the source password; the
 * records of statement text the destination role may not turn off would
 * keep it (a superuser may turn off all of them).
 */
function passwordRecords(recorders: readonly StatementRecorder[], username: string): Finding | undefined {
  const kept = recorders.filter((recorder) => recorder.lasting && !recorder.settable);
  if (kept.length === 0) return undefined;
  const names = kept.map((recorder) => recorder.name);
  return {
    id: 'target-privileges',
    ok: false,
    side: 'target',
    message:
      `The destination's ${names.map((name) => `${name} = ${kept.find((r) => r.name === name)?.setting}`).join(', ')} would record CREATE SUBSCRIPTION, ` +
      `with the source password in its connection string, and ${username} may not turn ${names.length === 1 ? 'it' : 'them'} off`,
    hint:
      `As a superuser of the destination: GRANT SET ON PARAMETER ${names.join(', ')} TO ${username}; (PostgreSQL 15+), ` +
      `or change ${names.length === 1 ? 'it' : 'them'} in postgresql.conf for the migration, or subscribe as a superuser; ` +
      `otherwise change the source password once the migration is done.`,
  };
}
