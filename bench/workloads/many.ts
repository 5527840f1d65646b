/**
 * "many": 64 tables of 50k rows at full scale (~1.4 GB), each with a foreign
 * key to one parent table and three secondary indexes, one of them GIN.
 */
import { scaled, type Workload } from './workload.js';

const TABLES = 64;

export const many: Workload = {
  name: 'many',
  database: 'bench_many',
  describe: (scale) => `${TABLES} tables x ${scaled(50_000, scale)} rows, 3 secondary indexes each (one GIN), FK to a parent`,
  async generate({ source, scale }) {
    await source.exec('create database bench_many');
    await source.exec(
      `create table parent (id int primary key, name text not null);
       insert into parent select g, 'parent ' || g from generate_series(1, 1000) g;`,
      'bench_many',
    );
    const rows = scaled(50_000, scale);
    const sql = source.sql('bench_many');
    const names = Array.from({ length: TABLES }, (_, i) => `child_${String(i + 1).padStart(2, '0')}`);
    // Two sessions generate at once: the source's two cores, nothing timed yet.
    const queue = [...names];
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        await sql.unsafe(
          `create table ${name} (
             id bigint primary key,
             parent_id int not null references parent,
             created_at timestamptz not null,
             amount numeric(12,2) not null,
             tags text[] not null,
             payload text not null);
           insert into ${name}
             select g, 1 + g % 1000, timestamptz '2024-01-01' + g * interval '1 minute', (g % 100000) / 100.0,
                    array['t' || g % 17, 't' || g % 101, 't' || g % 1009],
                    repeat(md5(g::text || '${name}'), 6)
             from generate_series(1, ${rows}) g;
           create index on ${name} (parent_id);
           create index on ${name} (created_at);
           create index on ${name} using gin (tags);`,
        ).simple();
      }
    };
    await Promise.all([worker(), worker()]);
  },
};
