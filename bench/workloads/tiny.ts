/** "tiny": 200 schemas x 10 tables x 100 rows at full scale (2,000 tables), a primary key and one index each. */
import { scaled, type Workload } from './workload.js';

const TABLES_PER_SCHEMA = 10;
const ROWS = 100;

export const tiny: Workload = {
  name: 'tiny',
  database: 'bench_tiny',
  describe: (scale) => `${scaled(200, scale)} schemas x ${TABLES_PER_SCHEMA} tables x ${ROWS} rows (${scaled(200, scale) * TABLES_PER_SCHEMA} tables), PK + 1 index each`,
  async generate({ source, scale }) {
    await source.exec('create database bench_tiny');
    await source.exec(
      `do $$
       begin
         for s in 1..${scaled(200, scale)} loop
           execute format('create schema s%s', s);
           for t in 1..${TABLES_PER_SCHEMA} loop
             execute format('create table s%s.t%s (id int primary key, code int not null, label text not null)', s, t);
             execute format('insert into s%s.t%s select g, g %% 7, ''row '' || g from generate_series(1, ${ROWS}) g', s, t);
             execute format('create index on s%s.t%s (code)', s, t);
           end loop;
         end loop;
       end $$;`,
      'bench_tiny',
    );
  },
};
