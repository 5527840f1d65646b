/**
 * Prints the service status of the migration from `SOURCE_URI` to
 * `TARGET_URI`, from a process of its own: what a worker that never ran
 * migrate() sees.
 */
import { Migrator, toServiceResponse } from '../../src/index.js';

const migrator = new Migrator({ source: process.env['SOURCE_URI'] ?? '', target: process.env['TARGET_URI'] ?? '', databases: ['shop', 'archive'] });
const status = await migrator.status();
await migrator.close();
process.stdout.write(JSON.stringify(status.isOk() ? toServiceResponse(status.value) : status.error));
