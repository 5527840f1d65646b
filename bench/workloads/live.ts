/**
 * "live": pgbench's tables (scale 20 at full scale), migrated by replication
 * while `pgbench -c 2` writes on the source.
 */
import { initPgbench } from './pgbench-tables.js';
import { scaled, type Workload } from './workload.js';

export const live: Workload = {
  name: 'live',
  database: 'bench_live',
  describe: (scale) => `pgbench -i -s ${scaled(20, scale)}, then pgbench -c 2 writing throughout`,
  generate: (context) => initPgbench(context, 'bench_live', scaled(20, context.scale)),
};
