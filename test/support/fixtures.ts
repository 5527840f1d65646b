import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Cluster } from './cluster.js';

/** Creates `database` on the cluster and fills it from `test/fixtures/<fixture>.sql`. */
export async function seed(cluster: Cluster, database: string, fixture: 'shop' | 'archive' | 'postdata'): Promise<void> {
  await cluster.exec(`create database "${database}"`);
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/${fixture}.sql`, import.meta.url)), 'utf8');
  // Roles are cluster-wide: a second database seeded from the same fixture finds them there.
  const idempotent = text.replace(
    /^create role (\w+) nologin;$/m,
    (_, role: string) => `do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$;`,
  );
  await cluster.exec(idempotent, database);
}
