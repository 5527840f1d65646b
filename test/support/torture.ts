/** The torture fixture (test/fixtures/torture.sql) and what every test of it checks beyond verify(). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Cluster } from './cluster.js';

export const TORTURE_FIXTURE = readFileSync(fileURLToPath(new URL('../fixtures/torture.sql', import.meta.url)), 'utf8');

/** What replication cannot carry in the fixture, made carriable: identities for the keyless tables (an inheriting table has no key of its own), the unlogged table logged. */
export const REPLICATION_FIXES =
  'alter table keyless replica identity full; alter table no_columns replica identity full; alter table dog add primary key (id); alter table scratch set logged;';

/** What verify() does not compare, restored all the same: policies, comments, grants, triggers, row security, extensions where they were. */
export async function expectObjectsCarried(target: Cluster, db: string): Promise<void> {
  const [objects] = await target.sql(db)<Record<string, unknown>[]>`
    select (select count(*)::int from pg_policy where polname = 'own_rows') as policies,
           obj_description('typed'::regclass, 'pg_class') as comment,
           has_table_privilege('torture_reader', 'typed', 'select') as granted,
           (select count(*)::int from pg_trigger where tgname = 'node_touch') as triggers,
           (select relrowsecurity from pg_class where oid = 'secret'::regclass) as row_security,
           (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pgcrypto') as crypto_schema,
           (select count(*)::int from pg_extension where extname in ('hstore', 'citext', 'ltree', 'pg_trgm', 'btree_gist')) as extensions`;
  expect(objects).toEqual({
    policies: 1,
    comment: 'every type, and the values that break things',
    granted: true,
    triggers: 1,
    row_security: true,
    crypto_schema: 'Crypto Schema',
    extensions: 5,
  });
}
