import { describe, expect, it } from 'vitest';
import { replicationName } from '../src/index.js';

describe('replication object names', () => {
  it('are the database name behind a fixed prefix when it is plain', () => {
    expect(replicationName('defaultdb')).toBe('dlh_mig_defaultdb');
  });

  it('are deterministic, so a re-run finds its own objects', () => {
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
});
