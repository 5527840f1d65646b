import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

/**
 * A table whose columns have no portable binary form is copied as text, and
 * how a server writes a date, an interval or a float as text depends on the
 * session: DateStyle, IntervalStyle, extra_float_digits. The source's
 * database here defaults to day-first dates, SQL-standard intervals and
 * floats cut to 15 digits; the destination to month-first dates. The copy
 * must carry the values, not their rendering under one side's defaults.
 *
 * A `regclass` or `regtype` is the other way round: its binary form is an
 * OID, which names another object (or none) on another cluster; only its
 * text, the object's qualified name, carries over.
 */
const SCHEMA = `
  create type reading as (on_day date, span interval, value float8);
  create table readings (id int primary key, packed reading not null, on_day date not null, span interval not null, value float8 not null);
  insert into readings values
    (1, row('2024-05-12', '-1 days -02:03:04', 0.1::float8 + 0.2::float8)::reading, '2024-05-12', '-1 days -02:03:04', 0.1::float8 + 0.2::float8),
    (2, row('2024-12-05', '1 year 2 mons -3 days', 1e-300)::reading, '2024-12-05', '1 year 2 mons -3 days', 1e-300);
  create table refs (id int primary key, rel regclass not null, typ regtype not null, rels regclass[] not null);
  insert into refs values (1, 'readings', 'reading', array['readings', 'refs']::regclass[]), (2, 'pg_class', 'int4', '{}');`;

/** Objects created and dropped first, so that the source's OIDs are not the ones the destination hands out. */
const OID_PADDING = Array.from({ length: 40 }, (_, i) => `create table padding_${i} (); drop table padding_${i};`).join('\n');

const DEFAULTS = `
  alter database %db set datestyle = 'SQL, DMY';
  alter database %db set intervalstyle = 'sql_standard';
  alter database %db set extra_float_digits = 0;`;

/** The rows as one fixed rendering reads them, whatever the session's defaults. */
const ROWS = `
  set datestyle = 'ISO, YMD'; set intervalstyle = 'postgres'; set extra_float_digits = 3;
  select id, (packed).on_day::text as packed_day, (packed).span::text as packed_span, (packed).value::text as packed_value,
         on_day::text, span::text, value::text
  from readings order by id`;

const REFS = `set search_path = pg_catalog; select id, rel::text, typ::text, rels::text from public.refs order by id`;

describe('values copied as text', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, { settings: { datestyle: "'ISO, MDY'" } }])) as [Cluster, Cluster];
    for (const db of ['by_dump', 'by_replication']) {
      await source.exec(`create database ${db}`);
      await source.exec(OID_PADDING + SCHEMA, db);
      await source.exec(DEFAULTS.replaceAll('%db', db));
    }
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const rows = async (cluster: Cluster, db: string, query = ROWS): Promise<unknown> => {
    const results = await cluster.sql(db).unsafe(query).simple();
    return (results as unknown as unknown[][]).at(-1);
  };

  for (const method of ['dump', 'replication'] as const) {
    it(`keep their dates, intervals, floats and object names whatever each side's sessions default to (${method})`, async () => {
      const db = `by_${method}`;
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [db], method, pollIntervalMs: 100, syncTimeoutMs: 60_000 });
      try {
        const status = (await migrator.migrate())._unsafeUnwrap();
        expect(status.databases[0]).toMatchObject({ status: method === 'dump' ? 'done' : 'syncing', error: null });
        const expected = await rows(source, db);
        expect(expected).toHaveLength(2);
        expect(await rows(target, db)).toEqual(expected);
        expect(await rows(target, db, REFS)).toEqual([
          { id: 1, rel: 'public.readings', typ: 'public.reading', rels: '{public.readings,public.refs}' },
          { id: 2, rel: 'pg_class', typ: 'integer', rels: '{}' },
        ]);
      } finally {
        if (method === 'replication') (await migrator.stop())._unsafeUnwrap();
        await migrator.close();
      }
    });
  }
});

describe('values of a database in another encoding than UTF-8', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, {}])) as [Cluster, Cluster];
    await source.exec(`create database bytes encoding 'SQL_ASCII' locale 'C' template template0`);
    await source.exec(`create database windows encoding 'WIN1252' locale 'C' template template0`);
    for (const db of ['bytes', 'windows']) {
      await source.exec(
        `create table notes (id int primary key, body text not null, tags text[] not null);
         insert into notes values (1, E'caf\\351 cr\\350me', array[E'\\351t\\351']), (2, E'quote \\201 and \\223x\\224', array['plain']);
         insert into notes select g, repeat(E'\\351', g % 50), array[g::text] from generate_series(3, 5000) g;`,
        db,
      );
    }
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('is refused, not changed, when the schema of a SQL_ASCII database holds bytes that are not UTF-8', async () => {
    await source.exec(`create database odd_schema encoding 'SQL_ASCII' locale 'C' template template0`);
    await source.exec(`create table notes (id int primary key, body text not null default E'caf\\351'); comment on table notes is E'cr\\350me';`, 'odd_schema');
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['odd_schema'], method: 'dump' });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0]).toMatchObject({ status: 'failed', errorKind: 'schema', error: expect.stringMatching(/UTF-?8/) });
    } finally {
      await migrator.close();
    }
  });

  /** Each row's bytes as the database stores them, with no conversion. */
  const BYTES = `select id, encode(convert_to(body, getdatabaseencoding()), 'hex') as body, encode(convert_to(tags::text, getdatabaseencoding()), 'hex') as tags from notes order by id`;

  it('arrive byte for byte, those UTF-8 has no character for included', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['bytes', 'windows'], method: 'dump' });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases.map((d) => [d.dbname, d.status, d.error])).toEqual([
        ['bytes', 'done', null],
        ['windows', 'done', null],
      ]);
      for (const db of ['bytes', 'windows']) {
        const [expected, actual] = await Promise.all([source.sql(db).unsafe(BYTES), target.sql(db).unsafe(BYTES)]);
        expect(expected).toHaveLength(5000);
        expect(actual).toEqual(expected);
      }
    } finally {
      await migrator.close();
    }
  });
});
