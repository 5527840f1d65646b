import { describe, expect, it } from 'vitest';
import { normalizeConnection, normalizeOptions } from '../src/options.js';

describe('connection options', () => {
  it('read a URI with its sslmode and certificate paths, without touching the files', () => {
    const parsed = normalizeConnection('postgres://u:p%40ss@db.example.com:6543/app?sslmode=verify-full&sslrootcert=/nowhere/ca.pem', 'source');
    expect(parsed._unsafeUnwrap()).toMatchObject({
      host: 'db.example.com',
      port: 6543,
      database: 'app',
      username: 'u',
      password: 'p@ss',
      sslmode: 'verify-full',
      sslrootcert: '/nowhere/ca.pem',
    });
  });

  it('take the migration guide fields, with ssl true meaning require', () => {
    const parsed = normalizeConnection({ host: 'h', port: '5433', username: 'avnadmin', password: 'x', ssl: true }, 'target');
    expect(parsed._unsafeUnwrap()).toMatchObject({ host: 'h', port: 5433, database: 'postgres', sslmode: 'require' });
  });

  it('reject an unknown sslmode or method with a hint, and never echo the password', () => {
    const bad = normalizeConnection('postgres://u:topsecret@h/db?sslmode=sometimes', 'source');
    expect(bad._unsafeUnwrapErr()).toMatchObject({ kind: 'options', side: 'source' });
    expect(JSON.stringify(bad._unsafeUnwrapErr())).not.toContain('topsecret');
    const method = normalizeOptions({ source: 'postgres://h/db', target: 'postgres://h/db', method: 'magic' as never });
    expect(method._unsafeUnwrapErr()).toMatchObject({ kind: 'options', hint: expect.stringContaining('dump') });
  });
});
