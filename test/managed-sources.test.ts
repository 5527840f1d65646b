import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type PreflightReport } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

/**
 * Managed services are told from facts any role sees: their settings and
 * administrator roles. A throwaway cluster carrying the same settings (as
 * placeholders) and roles reads the same to the library.
 */
describe('a managed source', () => {
  let rds: Cluster;
  let cloudsql: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [rds, cloudsql, target] = (await startClusters([
      { major: 15, walLevel: 'replica', settings: { 'rds.logical_replication': 0 } },
      { major: 15, settings: { 'cloudsql.logical_decoding': 'on' } },
      { major: 15 },
    ])) as [Cluster, Cluster, Cluster];
    await rds.exec(`create role rds_superuser nologin; create role rds_replication nologin; create role app login password 'app-secret';`);
    await rds.exec('create database shop owner app');
    await cloudsql.exec('create role cloudsqlsuperuser nologin');
    await cloudsql.exec('create database shop');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([rds?.stop(), cloudsql?.stop(), target?.stop()]);
  });

  async function preflight(source: string): Promise<PreflightReport> {
    const migrator = new Migrator({ source, target: target.uri(), databases: ['shop'] });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    return report;
  }

  it('on AWS RDS gets its fixes worded for RDS: the parameter group, and rds_replication', async () => {
    const report = await preflight(`postgresql://app:app-secret@${rds.host}:${rds.port}/shop?sslmode=disable`);
    const wal = report.checks.find((c) => c.id === 'wal-level');
    expect(wal).toMatchObject({ status: 'warn', blocks: 'replication' });
    expect(wal?.hint).toContain('rds.logical_replication = 1');
    expect(wal?.hint).toContain('parameter group');
    expect(wal?.hint).not.toContain('ALTER SYSTEM');
    expect(report.checks.find((c) => c.id === 'source-privileges' && c.database === 'shop')?.hint).toContain('GRANT rds_replication TO app;');
    expect(report.databases[0]).toMatchObject({ dbname: 'shop', method: 'pg_dump' });
  });

  it('on Google Cloud SQL is migrated by dump, saying why', async () => {
    const report = await preflight(cloudsql.uri('shop'));
    expect(report.checks.find((c) => c.id === 'source-privileges' && c.database === 'shop')).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('Google Cloud SQL'),
    });
    expect(report.databases[0]).toMatchObject({ dbname: 'shop', method: 'pg_dump', replicationBlockers: [expect.stringContaining('Cloud SQL')] });
  });
});
