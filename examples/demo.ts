/**
 * The main job on an embedded default: two throwaway clusters, a sample
 * database that replicates and one that must fall back to a dump, migrated
 * while progress prints; then the status JSON, a row written on the source
 * arriving at the destination, a guarded stop, and cleanup.
 *
 * Run with `npm run demo`.
 */
import { Migrator, toServiceResponse, type MigrationEvent } from '../src/index.js';
import { startClusters, type Cluster } from '../test/support/cluster.js';

function describeEvent(event: MigrationEvent): string | undefined {
  switch (event.type) {
    case 'check':
      return event.check.status === 'pass' ? undefined : `  check ${event.check.status}: ${event.check.message}`;
    case 'plan':
      return event.databases
        .map((db) => `  plan: ${db.dbname} → ${db.method ?? 'blocked'}${db.replicationBlockers.length ? ` (${db.replicationBlockers.join('; ')})` : ''}`)
        .join('\n');
    case 'database:start':
      return `▶ ${event.dbname}: ${event.method}${event.resumed ? ' (resumed)' : ''}`;
    case 'schema':
      return `  schema ${event.step}${event.dbname ? ` ${event.dbname}` : ''}: ${event.detail}`;
    case 'copy:start':
      return `  copying ${event.tables} tables of ${event.dbname} (~${Math.round(event.estimatedBytes / 1024)} KiB)`;
    case 'table:copied':
      return `  [${event.tablesDone}/${event.tablesTotal}] ${event.schema}.${event.table}: ${event.rows} rows, ${Math.round(event.bytes / 1024)} KiB`;
    case 'objects:copied':
      return `  ${event.count} ${event.kind} copied`;
    case 'replication:state':
      return `  replication ${event.dbname}: ${event.state}${event.tablesTotal > 0 ? ` (${event.tablesReady}/${event.tablesTotal} tables ready)` : ''}`;
    case 'database:done':
      return `■ ${event.dbname}: ${event.status}${event.error ? ` — ${event.error}` : ''} in ${event.durationMs} ms`;
    case 'warning':
      return `  warning: ${event.message}`;
  }
}

async function main(): Promise<number> {
  console.log('Starting two throwaway PostgreSQL 15 clusters…');
  const clusters = await startClusters([{ major: 15 }, { major: 15 }]);
  const [source, target] = clusters as [Cluster, Cluster];
  let migrator: Migrator | undefined;
  try {
    await source.exec(`create database shop`);
    await source.exec(
      `create table customers (id serial primary key, name text not null);
       insert into customers (name) select 'customer ' || g from generate_series(1, 5000) g;
       create table orders (id bigserial primary key, customer_id int references customers, amount numeric);
       insert into orders (customer_id, amount) select 1 + g % 5000, g * 1.25 from generate_series(1, 20000) g;`,
      'shop',
    );
    await source.exec(`create database legacy`);
    await source.exec(
      `create table audit_log (at timestamptz default now(), message text);
       insert into audit_log (message) select 'event ' || g from generate_series(1, 3000) g;`,
      'legacy',
    );
    console.log('Seeded "shop" (primary keys everywhere) and "legacy" (a table without a primary key).\n');

    migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop', 'legacy'], pollIntervalMs: 200 });
    migrator.on('progress', (event) => {
      const line = describeEvent(event);
      if (line) console.log(line);
    });

    const migrated = await migrator.migrate();
    if (migrated.isErr()) {
      console.error(`Migration failed: ${migrated.error.message}${migrated.error.hint ? `\n  ${migrated.error.hint}` : ''}`);
      return 1;
    }
    console.log('\nStatus, as the service reports it:');
    console.log(JSON.stringify(toServiceResponse(migrated.value), null, 2));

    console.log('\nWriting a row on the source…');
    await source.exec(`insert into customers (name) values ('written after the migration')`, 'shop');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = await target.sql('shop')`select id, name from customers where name = 'written after the migration'`;
      if (rows.length > 0) {
        console.log(`…and it arrived at the destination: ${JSON.stringify(rows[0])}`);
        break;
      }
      if (Date.now() > deadline) throw new Error('the row did not arrive within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const stopped = await migrator.stop();
    if (stopped.isErr()) {
      console.error(`Stop failed: ${stopped.error.message}`);
      return 1;
    }
    console.log('\nStopped: publication, subscription and replication slot removed on both sides.');
    console.log(JSON.stringify(toServiceResponse(stopped.value), null, 2));
    return 0;
  } finally {
    await migrator?.close();
    await Promise.all(clusters.map((c) => c.stop()));
    console.log('\nThrowaway clusters stopped and removed.');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
