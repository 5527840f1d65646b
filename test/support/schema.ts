import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from './cluster.js';

const run = promisify(execFile);

/**
 * `pg_dump --schema-only` of a database, without what legitimately differs
 * between two dumps of one schema: the versions in the header, and psql's
 * per-dump `\restrict` key.
 */
export async function schemaOf(cluster: Cluster, database: string, binDir = '/usr/lib/postgresql/15/bin'): Promise<string> {
  const { stdout } = await run(
    join(binDir, 'pg_dump'),
    ['--schema-only', '--no-publications', '--no-subscriptions', '-h', cluster.host, '-p', String(cluster.port), '-U', cluster.username, database],
    { env: { ...process.env, PGPASSWORD: cluster.password }, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line) && !/^-- Dumped (from|by) /.test(line))
    .join('\n');
}
