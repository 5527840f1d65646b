import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { EVENT_NAMES, Migrator, nextEvent, type MigrationEvent } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { seed } from './support/fixtures.js';

describe('the Migrator as callers meet it', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('exports what callers use and nothing of its insides', () => {
    expect(Object.keys(api).sort()).toEqual(['CHECK_IDS', 'EVENT_NAMES', 'METHODS', 'Migrator', 'describeError', 'isMigrationError', 'nextEvent', 'replicationName', 'toServiceResponse']);
    expect(EVENT_NAMES).toContain('copy:progress');
    expect(Object.isFrozen(EVENT_NAMES)).toBe(true);
  });

  it('lets callers listen, never emit', () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri() });
    expect('emit' in migrator).toBe(false);
    const seen: MigrationEvent[] = [];
    const listener = (event: MigrationEvent): void => void seen.push(event);
    expect(migrator.on('progress', listener).off('progress', listener)).toBe(migrator);
  });

  it('gives the next event of a type as a typed result, and cancelled when its signal fires first', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'] });
    const check = nextEvent(migrator, 'check');
    await migrator.preflight();
    const event = (await check)._unsafeUnwrap();
    expect(event.type).toBe('check');
    expect(typeof event.check.id).toBe('string');
    const controller = new AbortController();
    const never = nextEvent(migrator, 'cutover', { signal: controller.signal });
    controller.abort();
    expect((await never)._unsafeUnwrapErr().kind).toBe('cancelled');
    await migrator.close();
  });

  it('migrates by the plan of a report it just made, without checking everything again', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'], method: 'dump' });
    const report = (await migrator.preflight())._unsafeUnwrap();
    const checks: unknown[] = [];
    migrator.on('check', (event) => checks.push(event));
    const status = (await migrator.migrate({ preflight: report }))._unsafeUnwrap();
    expect(status.databases[0]?.status).toBe('done');
    expect(checks).toEqual([]);
    // A report from elsewhere is refused rather than trusted.
    const other = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'] });
    expect((await other.migrate({ preflight: report }))._unsafeUnwrapErr().kind).toBe('options');
    await Promise.all([migrator.close(), other.close()]);
  });

  it('checks afresh when the migration state changed since the report', async () => {
    const first = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'], method: 'dump' });
    const report = (await first.preflight())._unsafeUnwrap();
    // Another run changes the state after the report: the plan it holds is stale.
    await target.sql().unsafe('drop database shop with (force)');
    const other = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'], method: 'dump' });
    expect((await other.migrate())._unsafeUnwrap().databases[0]?.status).toBe('done');
    await other.close();
    const checks: unknown[] = [];
    first.on('check', (event) => checks.push(event));
    const status = (await first.migrate({ preflight: report }))._unsafeUnwrap();
    expect(checks.length).toBeGreaterThan(0);
    expect(status.databases[0]?.status).toBe('done');
    await first.close();
  });
});
