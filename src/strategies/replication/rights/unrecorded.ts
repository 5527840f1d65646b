/**
 * Runs a statement that carries the source password on a session whose
 * records of statement text are off (see statement-records.ts), then puts
 * them back. Session-level SET rather than SET LOCAL: CREATE SUBSCRIPTION
 * that creates its slot may not run inside a transaction block.
 */
import type { ReservedSql, Sql } from 'postgres';
import { statementRecorders } from '../../../pg/queries/statement-records.js';

export async function runUnrecorded(target: Sql, run: (session: ReservedSql) => Promise<unknown>): Promise<void> {
  const session = await target.reserve();
  const silenced: { name: string; setting: string }[] = [];
  try {
    for (const recorder of await statementRecorders(session)) {
      // What this role may not turn off, preflight has warned about (target-privileges).
      if (!recorder.settable) continue;
      await session`select set_config(${recorder.name}, ${recorder.silent}, false)`;
      silenced.push(recorder);
    }
    await run(session);
  } finally {
    // Restore in reverse: the statements that restore are recorded, and carry no secret.
    for (const { name, setting } of silenced.reverse()) await session`select set_config(${name}, ${setting}, false)`.catch(() => undefined);
    session.release();
  }
}
