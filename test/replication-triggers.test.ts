import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';

/**
 * A subscription's apply worker writes as a replica, and a trigger the source
 * set `ENABLE ALWAYS` (or `ENABLE REPLICA`) fires for a replica's writes too.
 * On the source such a trigger already wrote its rows, and those rows arrive
 * by replication on their own: fired again on the destination, it would
 * write every one twice. While the destination follows the source, those
 * triggers stay quiet there; once it stops, they fire as the source has them.
 */
const SCHEMA = `
  create table items (id int primary key, v text not null);
  create table audit (id uuid primary key default gen_random_uuid(), item int not null, op text not null);
  create function log_it() returns trigger language plpgsql as $$
    begin insert into public.audit (item, op) values (new.id, tg_op); return new; end $$;
  create trigger log_it after insert or update on items for each row execute function log_it();
  alter table items enable always trigger log_it;

  create table events (id int, at date not null, primary key (id, at)) partition by range (at);
  create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
  create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
  create function log_event() returns trigger language plpgsql as $$
    begin insert into public.audit (item, op) values (new.id, 'event'); return new; end $$;
  create trigger log_event after insert on events for each row execute function log_event();
  alter table events enable always trigger log_event;

  create table notes (id int primary key, body text not null);
  create function touch_note() returns trigger language plpgsql as $$
    begin insert into public.audit (item, op) values (new.id, 'note'); return new; end $$;
  create trigger touch_note after insert on notes for each row execute function touch_note();
  alter table notes enable replica trigger touch_note;

  insert into items values (1, 'one');
  insert into events values (1, '2024-03-01');`;

const STATES = `
  select c.relname as "table", t.tgname as trigger, t.tgenabled::text as state
  from pg_trigger t join pg_class c on c.oid = t.tgrelid
  where not t.tgisinternal order by 1, 2`;

describe('triggers that fire for a replica', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, {}])) as [Cluster, Cluster];
    await source.exec('create database shop');
    await source.exec(SCHEMA, 'shop');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('do not fire again on the destination while it follows the source, and fire as on the source once it stopped', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'], method: 'replication', pollIntervalMs: 100, syncTimeoutMs: 60_000 });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0]).toMatchObject({ status: 'syncing', error: null });
      await source.exec(
        `insert into items values (2, 'two'); update items set v = 'uno' where id = 1;
         insert into events values (2, '2025-06-01'); insert into notes values (1, 'hello');`,
        'shop',
      );
      (await migrator.stop())._unsafeUnwrap();
    } finally {
      await migrator.close();
    }
    const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(actual.tables).toEqual(expected.tables);
    expect(await target.sql('shop').unsafe(STATES)).toEqual(await source.sql('shop').unsafe(STATES));
    // Fired by a write on the destination itself, now that it is on its own.
    await target.exec(`insert into items values (3, 'three')`, 'shop');
    const [row] = await target.sql('shop')<{ n: number }[]>`select count(*)::int as n from audit where item = 3`;
    expect(row?.n).toBe(1);
  });
});
