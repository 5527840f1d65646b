/**
 * Runs a statement that carries the source password on a session whose
 * records of statement text are off (see statement-records.ts), then puts
 * them back. Session-level SET rather than SET LOCAL: CREATE SUBSCRIPTION
 * that creates its slot may not run inside a transaction block.
 *
 * With `commitIf`, the statement runs in a transaction that commits when it
 * settles true and rolls back when false or when the statement fails.
 *
 * pg_stat_activity shows an idle session's last statement, to the role, its
 * monitors and superusers, when the role may not turn `track_activities`
 * off: a statement without the password takes its place as soon as it ends.
 */
import type { ReservedSql, Sql } from 'postgres';
import { statementRecorders } from '../../../pg/queries/statement-records.js';

export async function runUnrecorded(target: Sql, run: (session: ReservedSql) => Promise<unknown>, commitIf?: Promise<boolean>): Promise<void> {
  const session = await target.reserve();
  const silenced: { name: string; setting: string }[] = [];
  try {
    for (const recorder of await statementRecorders(session)) {
      // What this role may not turn off, preflight has warned about (target-privileges).
      if (!recorder.settable) continue;
      await session`select set_config(${recorder.name}, ${recorder.silent}, false)`;
      silenced.push(recorder);
    }
    if (commitIf) await inTransaction(session, run, commitIf);
    else await run(session).finally(() => displace(session));
  } finally {
    // Restore in reverse: the statements that restore are recorded, and carry no secret.
    for (const { name, setting } of silenced.reverse()) await session`select set_config(${name}, ${setting}, false)`.catch(() => undefined);
    session.release();
  }
}

async function inTransaction(session: ReservedSql, run: (session: ReservedSql) => Promise<unknown>, commitIf: Promise<boolean>): Promise<void> {
  await session`begin`;
  try {
    await run(session);
  } catch (error) {
    await session`rollback`.catch(() => undefined);
    throw error;
  }
  await displace(session);
  const commit = await commitIf.catch(() => false);
  await (commit ? session`commit` : session`rollback`);
}

async function displace(session: ReservedSql): Promise<void> {
  await session`select 'statement done'`.catch(() => undefined);
}
