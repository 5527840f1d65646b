/**
 * "wide": a table of large values, ~100 kB each, stored out of line and
 * uncompressed (TOAST, storage external): ~1 GB in 10,000 rows at full scale.
 */
import { scaled, type Workload } from './workload.js';

export const wide: Workload = {
  name: 'wide',
  database: 'bench_wide',
  describe: (scale) => `${scaled(10_000, scale)} rows of ~100 kB TOASTed text`,
  async generate({ source, scale }) {
    await source.exec('create database bench_wide');
    await source.exec(
      `create table documents (id int primary key, title text not null, body text not null);
       alter table documents alter column body set storage external;
       insert into documents
         select g, 'document ' || g,
                (select string_agg(md5(g::text || ':' || i::text), '') from generate_series(1, 3200) i)
         from generate_series(1, ${scaled(10_000, scale)}) g;`,
      'bench_wide',
    );
  },
};
