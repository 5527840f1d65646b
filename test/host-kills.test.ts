import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type MigrationEvent } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint, within } from './support/compare.js';

const HOST = fileURLToPath(new URL('./support/migration-host.ts', import.meta.url));

/**
 * A host process killed at each phase of a migration — interrupted (SIGINT,
 * which it turns into a cancellation) or killed outright (SIGKILL, which
 * nothing can catch) — and a re-run afterwards: every row there exactly
 * once, and once stopped, no object of the migration left on either cluster.
 */
describe('a host process killed at each phase, then a re-run', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database ledger');
    await source.exec(
      `create table account (id int primary key, owner text not null);
       create table entry (id bigint primary key, account int not null references account, amount numeric not null, memo text);
       create index on entry (account);
       insert into account select g, 'o' || g from generate_series(1, 500) g;
       insert into entry select g, 1 + g % 500, g / 7.0, repeat(md5(g::text), 2) from generate_series(1, 300000) g;
       create sequence voucher start 1; select setval('voucher', 777);`,
      'ledger',
    );
    await source.exec(`comment on database ledger is 'the books'; alter database ledger set work_mem = '12MB'`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const options = (method: 'dump' | 'replication') => ({ source: source.uri(), target: target.uri(), databases: ['ledger'], method, pollIntervalMs: 100 });

  /** Starts the host; kills it with `signal` at the first event `when` matches; resolves with its exit. */
  async function killHostAt(method: 'dump' | 'replication', run: 'migrate' | 'stop', when: (e: MigrationEvent) => boolean, signal: 'SIGINT' | 'SIGKILL'): Promise<{ killed: boolean; outcome: string | undefined }> {
    const child = spawn(process.execPath, ['--import', 'tsx', HOST], {
      env: { ...process.env, MIGRATION_HOST_SPEC: JSON.stringify({ options: options(method), run }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let killed = false;
    let outcome: string | undefined;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const event = JSON.parse(line) as MigrationEvent | { type: 'host:end'; outcome: string };
      if (event.type === 'host:end') outcome = event.outcome;
      else if (!killed && when(event)) {
        killed = true;
        child.kill(signal);
      }
    });
    await within(60_000, 'the host process to exit', new Promise((resolve) => child.once('exit', resolve)));
    return { killed, outcome };
  }

  async function rerunAndStop(method: 'dump' | 'replication'): Promise<void> {
    const migrator = new Migrator(options(method));
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0]?.status, JSON.stringify(status)).toBe(method === 'dump' ? 'done' : 'syncing');
    const verified = (await migrator.verify())._unsafeUnwrap();
    expect(verified.databases[0]?.differences.filter((d) => !d.expected)).toEqual([]);
    expect(verified.databases[0]?.status).toBe('equal');
    expect((await migrator.stop())._unsafeUnwrap().databases[0]?.status).toBe('done');
    await migrator.close();
    const [slots, publications, subscriptions] = await Promise.all([
      source.sql('ledger')`select slot_name from pg_replication_slots`,
      source.sql('ledger')`select pubname from pg_publication`,
      target.sql('ledger')`select subname from pg_subscription`,
    ]);
    expect([...slots, ...publications, ...subscriptions]).toEqual([]);
    expect(await fingerprint(target.sql('ledger'))).toEqual(await fingerprint(source.sql('ledger')));
    // The database's own properties too, whichever run gave them.
    const [properties] = await target.sql()<{ comment: string | null; settings: string[] | null }[]>`
      select shobj_description(d.oid, 'pg_database') as comment,
             (select setconfig from pg_db_role_setting s where s.setdatabase = d.oid and s.setrole = 0) as settings
      from pg_database d where d.datname = 'ledger'`;
    expect(properties).toEqual({ comment: 'the books', settings: ['work_mem=12MB'] });
    await target.sql().unsafe('drop database ledger with (force)');
    // The state of the finished migration would keep the next scenario's database as done.
    await target.sql().unsafe('drop schema if exists datalakehouse_migrate cascade');
  }

  const phases: [string, 'dump' | 'replication', 'migrate' | 'stop', (e: MigrationEvent) => boolean][] = [
    ['preflight', 'dump', 'migrate', (e) => e.type === 'check'],
    ['roles', 'dump', 'migrate', (e) => e.type === 'plan'],
    ['schema', 'dump', 'migrate', (e) => e.type === 'schema' && e.step === 'database'],
    ['copy', 'replication', 'migrate', (e) => e.type === 'copy:progress' && e.bytesDone > 0],
    ['post-data', 'dump', 'migrate', (e) => e.type === 'table:copied'],
    ['waiting for syncing', 'replication', 'migrate', (e) => e.type === 'replication:state' && e.state === 'subscribed'],
    ['stop', 'replication', 'stop', (e) => e.type === 'catch-up'],
  ];

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it.each(phases)(`${signal} during %s (%s): the re-run leaves every row there once and nothing of ours behind`, async (_phase, method, run, when) => {
      const { killed, outcome } = await killHostAt(method, run, when, signal);
      expect(killed).toBe(true);
      // Interrupted, the host cancels through the library and says so; killed, it says nothing.
      if (signal === 'SIGINT') expect(outcome).toBe('cancelled');
      else expect(outcome).toBeUndefined();
      await rerunAndStop(method);
    });
  }
});
