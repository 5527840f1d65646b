/**
 * Runs migrate() of `DATABASE` from `SOURCE_URI` to `TARGET_URI` in a process
 * of its own, so a test can kill it at any moment the way a crash would.
 */
import { Migrator } from '../../src/index.js';

const migrator = new Migrator({
  source: process.env['SOURCE_URI'] ?? '',
  target: process.env['TARGET_URI'] ?? '',
  databases: [process.env['DATABASE'] ?? ''],
  method: 'replication',
  jobs: 1,
});
const result = await migrator.migrate();
await migrator.close();
process.stdout.write(JSON.stringify(result.isOk() ? result.value : result.error));
