import { describe, expect, it } from 'vitest';
import { replicationName } from '../src/index.js';
import { uniqueReplicationName } from '../src/strategies/replication/names.js';

describe('replication object names', () => {
  it('are the database name behind a fixed prefix when it is plain', () => {
    expect(replicationName('defaultdb')).toBe('dlh_mig_defaultdb');
  });

  it('derive from the database name alone, as the objects of a migration an earlier version recorded are named', () => {
    expect(replicationName('Sales-EU')).toBe(replicationName('Sales-EU'));
  });

  it('use only [a-z0-9_] and tell apart names that clean up alike', () => {
    const a = replicationName('Sales-EU');
    const b = replicationName('sales_eu');
    expect(a).toMatch(/^[a-z0-9_]+$/);
    expect(a).not.toBe(b);
  });

  it('fit in 63 bytes however long or exotic the database name', () => {
    for (const name of ['x'.repeat(63), 'ü'.repeat(30), 'a b c "d" e'.repeat(6)]) {
      const derived = replicationName(name);
      expect(Buffer.byteLength(derived)).toBeLessThanOrEqual(63);
      expect(derived).toMatch(/^dlh_mig_[a-z0-9_]+$/);
    }
  });

  it('differ for every migration of the same database, so two destinations never share a slot or publication', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueReplicationName('shop')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^dlh_mig_shop_[0-9a-f]{10}$/);
  });

  it('keep the prefix and the 63-byte limit for a migration of any database', () => {
    for (const name of ['x'.repeat(63), 'ü'.repeat(30), 'Sales-EU', 'a b c "d" e'.repeat(6)]) {
      const unique = uniqueReplicationName(name);
      expect(Buffer.byteLength(unique)).toBeLessThanOrEqual(63);
      expect(unique).toMatch(/^dlh_mig_[a-z0-9_]+_[0-9a-f]{10}$/);
    }
  });
});
