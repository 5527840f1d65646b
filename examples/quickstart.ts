/**
 * The README's quickstart, runnable: migrate every database of SOURCE_URI
 * into TARGET_URI, print progress and the service status. Connection strings
 * come from the environment so no password lands in argv or shell history.
 *
 *   SOURCE_URI=postgres://… TARGET_URI=postgres://… npx tsx examples/quickstart.ts
 */
import { Migrator, describeError, toServiceResponse } from 'datalakehouse-db-migrate';

const source = process.env['SOURCE_URI'];
const target = process.env['TARGET_URI'];
if (!source || !target) {
  console.error('Set SOURCE_URI and TARGET_URI.');
  process.exitCode = 2;
} else {
  const migrator = new Migrator({ source, target, method: 'auto' });
  migrator.on('progress', (event) => console.log(JSON.stringify(event)));

  const report = await migrator.preflight();
  if (report.isErr()) {
    console.error(`${report.error.kind}: ${describeError(report.error)}`);
    process.exitCode = 1;
  } else {
    for (const db of report.value.databases) console.log(`${db.dbname}: ${db.method ?? 'blocked'}`);
    const run = await migrator.migrate();
    if (run.isOk()) console.log(JSON.stringify(toServiceResponse(run.value), null, 2));
    else console.error(`${run.error.kind}: ${describeError(run.error)}`);
  }
  await migrator.close();
}
