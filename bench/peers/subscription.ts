/**
 * A plain subscription: the schema restored with `pg_dump --schema-only`,
 * then `CREATE PUBLICATION ... FOR ALL TABLES` and `CREATE SUBSCRIPTION` with
 * `copy_data`, timed until every table is `r` in pg_subscription_rel.
 */
import { toolUri } from '../clusters.js';
import { PG_BIN, runPipe, sleep } from '../processes.js';
import { secondsSince, type Tool } from './tool.js';

const NAME = 'bench_plain';

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export const subscription: Tool = {
  name: 'subscription',
  label: 'CREATE SUBSCRIPTION (copy_data) after pg_dump --schema-only',
  unavailable: () => undefined,
  async run({ source, target, database, password, env, syncTimeoutMs, reached }) {
    const start = process.hrtime.bigint();
    await target.exec(`create database ${database}`);
    await runPipe(
      { file: `${PG_BIN}/pg_dump`, args: ['-Fc', '--schema-only', '-d', toolUri(source, database)] },
      { file: `${PG_BIN}/pg_restore`, args: ['--exit-on-error', '-d', toolUri(target, database)] },
      env,
    );
    await source.exec(`create publication ${NAME} for all tables`, database);
    const conninfo = `host=${source.host} port=${source.port} dbname=${database} user=postgres password=${password} sslmode=disable`;
    await target.exec(`create subscription ${NAME} connection ${literal(conninfo)} publication ${NAME} with (copy_data = true)`, database);
    const sql = target.sql(database);
    const deadline = Date.now() + syncTimeoutMs;
    for (;;) {
      const [row] = await sql<{ pending: number }[]>`
        select count(*) filter (where srsubstate <> 'r')::int as pending from pg_subscription_rel`;
      if (row?.pending === 0) break;
      if (Date.now() > deadline) throw new Error('the subscription did not get every table ready in time');
      await sleep(100);
    }
    const seconds = secondsSince(start);
    try {
      await reached();
    } finally {
      await target.exec(`drop subscription ${NAME}`, database);
      await source.exec(`drop publication ${NAME}`, database);
    }
    return { seconds };
  },
};
