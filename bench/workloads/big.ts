/** "big": one 10M-row table (`pgbench -i -s 100`, ~1.5 GB) at full scale. */
import { initPgbench } from './pgbench-tables.js';
import { scaled, type Workload } from './workload.js';

export const big: Workload = {
  name: 'big',
  database: 'bench_big',
  describe: (scale) => `pgbench -i -s ${scaled(100, scale)} (${scaled(100, scale) * 100_000} rows in pgbench_accounts)`,
  generate: (context) => initPgbench(context, 'bench_big', scaled(100, context.scale)),
};
