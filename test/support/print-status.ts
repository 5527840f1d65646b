/**
 * Prints the service status of the destination named by `TARGET_URI`, from a
 * process of its own: what a worker that never ran migrate() sees.
 */
import { Migrator, toServiceResponse } from '../../src/index.js';

const target = process.env['TARGET_URI'] ?? '';
const migrator = new Migrator({ source: target, target });
const status = await migrator.status();
await migrator.close();
process.stdout.write(JSON.stringify(status.isOk() ? toServiceResponse(status.value) : status.error));
