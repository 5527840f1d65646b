import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster, type Major } from './support/cluster.js';
import { expectObjectsCarried, REPLICATION_FIXES, TORTURE_FIXTURE } from './support/torture.js';

/**
 * The torture fixture moved between PostgreSQL majors by both methods.
 * Sources stop at 15 because the installed client tools are Debian's
 * PostgreSQL 15, and pg_dump reads no server newer than itself: a newer
 * source is refused by preflight, which names the client package to install.
 */

type Method = 'dump' | 'replication';
interface Pair {
  readonly source: Major;
  readonly target: Major;
}

/**
 * Every source major and every destination major at least once, each pair by
 * both methods: the oldest source to the oldest and to the newest destination,
 * and each other source a step or two up.
 */
const PAIRS: readonly Pair[] = [
  { source: 12, target: 15 },
  { source: 12, target: 18 },
  { source: 13, target: 16 },
  { source: 14, target: 17 },
  { source: 14, target: 18 },
  { source: 15, target: 16 },
];
const METHODS: readonly Method[] = ['dump', 'replication'];

/** A database name with a quote, a space and a non-ASCII letter, one per pair and method. */
function databaseFor(pair: Pair, method: Method): string {
  return `tor"ture ñ ${pair.source}→${pair.target} ${method}`;
}

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Writes on the source once the copy is done, which replication must carry across. */
const WRITES_AFTER_COPY = `
  insert into typed (id, t, f, dt) values (4, 'after the copy', 'Infinity', '0044-03-15 BC');
  insert into event select g, date '2024-06-01', 'click', null from generate_series(5001, 5100) g;
  update "MixedCase Ünïcode"."Order" set "Group" = 'changed' where "select" <= 10;
  delete from keyless where note is null;
  insert into no_columns default values;`;

describe('the version matrix: sources 12 to 15 into destinations 15 to 18', () => {
  const sources = new Map<Major, Cluster>();
  const targets = new Map<Major, Cluster>();
  const cluster = (side: Map<Major, Cluster>, major: Major): Cluster => {
    const found = side.get(major);
    if (!found) throw new Error(`no PostgreSQL ${major} cluster started`);
    return found;
  };

  beforeAll(async () => {
    const sourceMajors = [...new Set(PAIRS.map((p) => p.source))];
    const targetMajors = [...new Set(PAIRS.map((p) => p.target))];
    const started = await startClusters([...sourceMajors, ...targetMajors].map((major) => ({ major })));
    sourceMajors.forEach((major, i) => sources.set(major, started[i] as Cluster));
    targetMajors.forEach((major, i) => targets.set(major, started[sourceMajors.length + i] as Cluster));
    // Each source cluster loads its databases one after another; the clusters load in parallel.
    await Promise.all(
      sourceMajors.map(async (major) => {
        const source = cluster(sources, major);
        for (const pair of PAIRS.filter((p) => p.source === major)) {
          for (const method of METHODS) {
            const db = databaseFor(pair, method);
            await source.exec(`create database ${quoted(db)}`);
            await source.exec(TORTURE_FIXTURE, db);
            if (method === 'replication') await source.exec(REPLICATION_FIXES, db);
          }
        }
      }),
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...sources.values(), ...targets.values()].map((c) => c.stop()));
  });


  for (const pair of PAIRS) {
    it(`dumps from ${pair.source} into ${pair.target}, and verify() finds everything equal`, async () => {
      const db = databaseFor(pair, 'dump');
      const target = cluster(targets, pair.target);
      const migrator = new Migrator({ source: cluster(sources, pair.source).uri(), target: target.uri(), databases: [db], method: 'dump' });
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0], JSON.stringify(status)).toMatchObject({ status: 'done', method: 'pg_dump' });
      const verified = (await migrator.verify())._unsafeUnwrap();
      await migrator.close();
      expect(verified.databases[0]?.differences).toEqual([]);
      expect(verified.databases[0]?.tables.length).toBe(18);
      await expectObjectsCarried(target, db);
    });

    it(`replicates from ${pair.source} into ${pair.target}, writes after the copy included, and verify() finds everything equal after stop()`, async () => {
      const db = databaseFor(pair, 'replication');
      const source = cluster(sources, pair.source);
      const target = cluster(targets, pair.target);
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [db], method: 'replication', pollIntervalMs: 100 });
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0], JSON.stringify(status)).toMatchObject({ status: 'syncing', method: 'replication' });
      await source.exec(WRITES_AFTER_COPY, db);
      const syncing = (await migrator.verify())._unsafeUnwrap();
      // Sequences, large objects and materialized views are brought level at stop(): differences there are expected ones.
      expect(syncing.databases[0]?.differences.filter((d) => !d.expected)).toEqual([]);
      expect(syncing.databases[0]?.tables.length).toBe(18);
      const stopped = (await migrator.stop())._unsafeUnwrap();
      expect(stopped.databases[0]?.status).toBe('done');
      const verified = (await migrator.verify())._unsafeUnwrap();
      await migrator.close();
      // The source's materialized view still holds what it computed before the writes; the destination's was recomputed at stop().
      expect(verified.databases[0]?.differences).toEqual([
        expect.objectContaining({ kind: 'materialized-view', object: 'public.event_counts', expected: true }),
      ]);
      await expectObjectsCarried(target, db);
    });
  }

  describe('a source the installed pg_dump cannot read', () => {
    it('fails the pg-dump check of a 16 source, naming postgresql-client-16, and nothing else', async () => {
      const migrator = new Migrator({ source: cluster(targets, 16).uri(), target: cluster(targets, 18).uri(), databases: ['postgres'] });
      const report = (await migrator.preflight())._unsafeUnwrap();
      const migrate = await migrator.migrate();
      await migrator.close();
      expect(report.ok).toBe(false);
      expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['pg-dump']);
      expect(report.checks.find((c) => c.id === 'pg-dump')?.hint).toMatch(/apt-get install postgresql-client-16\b/);
      expect(migrate._unsafeUnwrapErr()).toMatchObject({ kind: 'preflight', message: expect.stringContaining('cannot dump a PostgreSQL 16 source') });
    });

    it('fails the pg-dump check of an 18 source with the exact client package and where to get it', async () => {
      const migrator = new Migrator({ source: cluster(targets, 18).uri(), target: cluster(targets, 17).uri(), databases: ['postgres'], allowOlderTarget: true });
      const report = (await migrator.preflight())._unsafeUnwrap();
      await migrator.close();
      const check = report.checks.find((c) => c.id === 'pg-dump');
      expect(check).toMatchObject({ status: 'fail', blocks: 'migration', message: expect.stringMatching(/^pg_dump 15 .* cannot dump a PostgreSQL 18 source$/) });
      expect(check?.hint).toMatch(/apt-get install postgresql-client-18\b/);
      expect(check?.hint).toMatch(/apt\.postgresql\.org/);
      expect(check?.hint).toMatch(/pgBinDir/);
      expect(check?.hint).not.toMatch(/postgresql-client-(?!18\b)\d+/);
    });

    it("names the source's client package when no client tools are found at all", async () => {
      const migrator = new Migrator({ source: cluster(sources, 12).uri(), target: cluster(targets, 15).uri(), databases: ['postgres'], pgBinDir: '/nonexistent/bin' });
      const report = (await migrator.preflight())._unsafeUnwrap();
      await migrator.close();
      const check = report.checks.find((c) => c.id === 'pg-dump');
      expect(check).toMatchObject({ status: 'fail', message: expect.stringContaining('/nonexistent/bin') });
      expect(check?.hint).toMatch(/apt-get install postgresql-client-12\b/);
      expect(check?.hint).not.toMatch(/postgresql-client-(?!12\b)\d+/);
    });
  });
});
