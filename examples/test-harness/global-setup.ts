/**
 * A vitest `globalSetup` that gives every test run a database of its own: it
 * clones the seeded database `SEED_DATABASE` of the cluster at `SEED_URI`
 * into a fresh destination database `<seed>_test_<run>` on the cluster at
 * `TEST_CLUSTER_URI` (a dump: a point-in-time copy, indexes and all), hands
 * its URI to the tests (`inject('databaseUri')`), and drops it when the run
 * ends, passed or not.
 *
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['examples/test-harness/global-setup.ts'] } });
 * // a test
 * const sql = postgres(inject('databaseUri'));
 * ```
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { describeError, Migrator } from 'datalakehouse-db-migrate';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URI to this run's own copy of the seeded database. */
    databaseUri: string;
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name}: see examples/test-harness/global-setup.ts`);
  return value;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const seedUri = required('SEED_URI');
  const clusterUri = required('TEST_CLUSTER_URI');
  const seed = process.env['SEED_DATABASE'] ?? 'shop';
  const copy = `${seed}_test_${randomBytes(4).toString('hex')}`;

  const migrator = new Migrator({ source: seedUri, target: clusterUri, method: 'dump', databases: [{ source: seed, target: copy }] });
  // One migration at a time per destination cluster: runs that start together take turns.
  let migrated = await migrator.migrate();
  for (let wait = 100; migrated.isErr() && migrated.error.kind === 'busy' && wait < 60_000; wait *= 1.5) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    migrated = await migrator.migrate();
  }
  await migrator.close();
  if (migrated.isErr()) throw new Error(`Cloning ${seed} failed: ${describeError(migrated.error)}`);
  const database = migrated.value.databases.find((d) => d.dbname === copy);
  if (database?.status !== 'done') throw new Error(`Cloning ${seed} failed: ${database?.error ?? 'not done'}`);

  const uri = new URL(clusterUri);
  uri.pathname = `/${encodeURIComponent(copy)}`;
  project.provide('databaseUri', uri.toString());

  return async () => {
    const admin = postgres(clusterUri, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`drop database if exists "${copy.replace(/"/g, '""')}" with (force)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  };
}
