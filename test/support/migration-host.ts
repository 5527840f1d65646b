/**
 * A host process for the kill tests: runs one migration as a service would,
 * printing each event as a JSON line on stdout, and on SIGINT cancels it
 * through the library's AbortSignal, then exits 130. The spec comes as JSON
 * in MIGRATION_HOST_SPEC (it holds passwords, which stay out of argv).
 */
import { Migrator } from '../../src/index.js';

interface HostSpec {
  readonly options: ConstructorParameters<typeof Migrator>[0];
  /** `migrate`, or `stop`: migrate, then stop. */
  readonly run: 'migrate' | 'stop';
}

const spec = JSON.parse(process.env['MIGRATION_HOST_SPEC'] ?? '{}') as HostSpec;
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const migrator = new Migrator(spec.options);
migrator.on('progress', (event) => process.stdout.write(`${JSON.stringify(event)}\n`));
const migrated = await migrator.migrate({ signal: controller.signal });
let outcome = migrated.isErr() ? migrated.error.kind : 'migrated';
if (migrated.isOk() && spec.run === 'stop') {
  const stopped = await migrator.stop({ signal: controller.signal });
  outcome = stopped.isErr() ? stopped.error.kind : 'stopped';
}
process.stdout.write(`${JSON.stringify({ type: 'host:end', outcome })}\n`);
await migrator.close();
process.exit(controller.signal.aborted ? 130 : 0);
