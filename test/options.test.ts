import { describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { normalizeConnection, normalizeOptions, secretsOf } from '../src/options.js';

const SOURCE = 'postgres://u:s3cret@src.example.com/postgres';
const TARGET = 'postgres://u:t4rget@dst.example.com/postgres';
const valid = { source: SOURCE, target: TARGET };

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

  describe('URI query parameters, read as libpq reads them', () => {
    const sslmodeOf = (query: string): string => {
      const parsed = normalizeConnection(`postgres://u:topsecret@h/db?${query}`, 'source');
      return parsed.isOk() ? parsed.value.sslmode : `error: ${parsed.error.message}`;
    };

    it('read ssl=true as sslmode=require, as libpq does for JDBC-style URIs', () => {
      expect(sslmodeOf('ssl=true')).toBe('require');
    });

    it('take the last of a repeated parameter, as libpq does', () => {
      expect(sslmodeOf('sslmode=disable&sslmode=verify-full')).toBe('verify-full');
    });

    it('decode percent-encoded values, and keep "+" as it is written (libpq does not read it as a space)', () => {
      const parsed = normalizeConnection('postgres://u:p@h/db?sslmode=req%75ire&sslrootcert=/etc/a+b%20c.pem', 'source');
      expect(parsed._unsafeUnwrap()).toMatchObject({ sslmode: 'require', sslrootcert: '/etc/a+b c.pem' });
    });

    it('honour host, port, dbname, user and password given in the query, over those before it, as libpq does', () => {
      const parsed = normalizeConnection('postgres://u:p@h:1/db?user=other&password=qu%26ery&dbname=app&host=db2&port=6543', 'source');
      expect(parsed._unsafeUnwrap()).toMatchObject({ host: 'db2', port: 6543, database: 'app', username: 'other', password: 'qu&ery' });
      expect(secretsOf({ source: 'postgres://u@h/db?password=qu%26ery' })).toContain('qu&ery');
    });

    it('accept the harmless libpq parameters a service URI may carry', () => {
      expect(sslmodeOf('sslmode=require&application_name=app&connect_timeout=10')).toBe('require');
    });

    it.each([
      ['sslmod=verify-full', 'sslmod', 'did you mean sslmode?'],
      ['SSLMODE=require', 'SSLMODE', 'did you mean sslmode?'],
      ['sslmode=verify-full&sslrootcrt=/etc/ca.pem', 'sslrootcrt', 'did you mean sslrootcert?'],
      ['ssl=false', 'ssl', 'sslmode=disable'],
      ['ssl=1', 'ssl', 'sslmode=require'],
    ])('reject %s, which libpq rejects too, naming the parameter instead of falling back to prefer', (query, name, hint) => {
      const parsed = normalizeConnection(`postgres://u:topsecret@h/db?${query}`, 'source');
      const error = parsed._unsafeUnwrapErr();
      expect(error).toMatchObject({ kind: 'options', side: 'source' });
      expect(error.message).toContain(`"${name}"`);
      expect(`${error.message} ${error.hint}`).toContain(hint);
      expect(JSON.stringify(error)).not.toContain('topsecret');
    });

    it.each(['sslmode=', 'sslmode=disable&sslmode='])('reject an empty sslmode (%s), as libpq does, instead of using the default', (query) => {
      expect(sslmodeOf(query)).toMatch(/^error: .*sslmode.* must not be empty/);
    });

    it.each([
      ['sslcrl=/etc/crl.pem', 'sslcrl'],
      ['channel_binding=require', 'channel_binding'],
      ['passfile=/root/.pgpass', 'passfile'],
      ['target_session_attrs=read-write', 'target_session_attrs'],
    ])('reject %s, a libpq parameter this library cannot honour, rather than ignore it', (query, name) => {
      const error = normalizeConnection(`postgres://u:p@h/db?${query}`, 'source')._unsafeUnwrapErr();
      expect(error).toMatchObject({ kind: 'options', side: 'source' });
      expect(error.message).toContain(`"${name}"`);
      expect(error.message).toContain('not supported');
    });
  });
});

describe('options from plain JavaScript', () => {
  // [what is wrong, the input, text the message must contain]
  const rows: [string, unknown, string][] = [
    // The defects: each was accepted, ignored, or crashed later.
    ['databases is a string', { ...valid, databases: 'x' }, 'options.databases must be an array of database names, got string'],
    ['the options are undefined', undefined, 'options must be an object with source and target, got undefined'],
    ['ignoreDatabases is a string', { ...valid, ignoreDatabases: 'x' }, 'options.ignoreDatabases must be an array of database names, got string'],
    ['a database is both wanted and ignored', { ...valid, databases: ['a', 'b'], ignoreDatabases: ['b'] }, 'options.ignoreDatabases[0] "b" is also in options.databases'],
    ['an unknown option', { ...valid, verbose: true }, 'options.verbose is not an option'],
    ['databases is misspelt', { ...valid, databse: ['app'] }, 'options.databse is not an option; did you mean databases?'],
    ['ignoreDatabases is singular', { ...valid, ignoreDatabase: ['app'] }, 'options.ignoreDatabase is not an option; did you mean ignoreDatabases?'],
    ['databases is empty', { ...valid, databases: [] }, 'options.databases is empty, so nothing would be migrated'],
    // A sample of other wrong inputs.
    ['the options are null', null, 'got null'],
    ['the options are a number', 42, 'got number'],
    ['the options are an array', [valid], 'got array'],
    ['source is missing', { target: TARGET }, 'options.source is required'],
    ['target is a number', { source: SOURCE, target: 5432 }, 'options.target must be a connection URI or an object of connection fields, got number'],
    ['source is an empty string', { ...valid, source: '' }, 'options.source must not be empty'],
    ['source is not a URI', { ...valid, source: 'host=h password=pw' }, 'options.source is not a postgres:// URI'],
    ['a database entry is a number', { ...valid, databases: ['a', 1] }, 'options.databases[1] must be a string, got number'],
    ['a database entry is empty', { ...valid, databases: ['a', ''] }, 'options.databases[1] must not be empty'],
    ['a database entry is repeated', { ...valid, databases: ['a', 'b', 'a'] }, 'options.databases[2] repeats "a" (also at [0])'],
    ['an ignored entry is null', { ...valid, ignoreDatabases: [null] }, 'options.ignoreDatabases[0] must be a string, got null'],
    ['a renamed database lacks its target', { ...valid, databases: [{ source: 'a' }] }, 'options.databases[0].target must be a string, got undefined'],
    ['a rename has an unknown key', { ...valid, databases: [{ source: 'a', target: 'b', as: 'c' }] }, 'options.databases[0].as is not a key'],
    ['two databases copied into one name', { ...valid, databases: ['b', { source: 'a', target: 'b' }] }, 'options.databases[1] copies into "b", as [0] does'],
    ['tables is a list', { ...valid, tables: ['orders'] }, 'options.tables must be an object, got array'],
    ['a table name has an open quote', { ...valid, tables: { include: ['"orders'] } }, 'options.tables.include[0]: an unclosed quote'],
    ['a table name has four parts', { ...valid, tables: { exclude: ['a.b.c.d'] } }, 'is not table, schema.table or database.schema.table'],
    ['a table name has a space unquoted', { ...valid, tables: { exclude: ['audit log'] } }, 'double-quote names with other characters'],
    ['tables has an unknown key', { ...valid, tables: { only: ['x'] } }, 'options.tables.only is not a key'],
    ['excludeSchemas is a string', { ...valid, excludeSchemas: 'staging' }, 'options.excludeSchemas must be an array of schema names, got string'],
    ['a database name is too long for PostgreSQL', { ...valid, databases: ['x'.repeat(64)] }, 'options.databases[0] is longer than 63 bytes'],
    ['method is misspelt', { ...valid, method: 'replicate' }, "options.method must be one of 'auto', 'replication', 'dump', got \"replicate\"; did you mean 'replication'?"],
    ['method is a boolean', { ...valid, method: true }, 'options.method must be one of'],
    ['jobs is a string', { ...valid, jobs: '4' }, 'options.jobs must be a positive integer, got string'],
    ['jobs is zero', { ...valid, jobs: 0 }, 'options.jobs must be a positive integer, got 0'],
    ['jobs is fractional', { ...valid, jobs: 1.5 }, 'options.jobs must be a positive integer, got 1.5'],
    ['syncTimeoutMs is negative', { ...valid, syncTimeoutMs: -1 }, 'options.syncTimeoutMs must be a positive number, got -1'],
    ['pollIntervalMs is NaN', { ...valid, pollIntervalMs: NaN }, 'options.pollIntervalMs must be a positive number, got NaN'],
    ['pollIntervalMs overflows a timer', { ...valid, pollIntervalMs: 2 ** 31 }, 'options.pollIntervalMs must be at most 2147483647'],
    ['stopTimeoutMs is Infinity', { ...valid, stopTimeoutMs: Infinity }, 'options.stopTimeoutMs must be a positive number, got Infinity'],
    ['maxLagBytes is fractional', { ...valid, maxLagBytes: 10.5 }, 'options.maxLagBytes must be a positive integer, got 10.5'],
    ['maxLagBytes is a string', { ...valid, maxLagBytes: '1GB' }, 'options.maxLagBytes must be a positive integer, got string'],
    ['allowNonEmptyTarget is a string', { ...valid, allowNonEmptyTarget: 'yes' }, 'options.allowNonEmptyTarget must be true or false, got string'],
    ['pgBinDir is empty', { ...valid, pgBinDir: '' }, 'options.pgBinDir must not be empty'],
    ['pgBinDir is an array', { ...valid, pgBinDir: ['/usr/bin'] }, 'options.pgBinDir must be a string, got array'],
    ['a connection field is misspelt', { ...valid, target: { host: 'h', databse: 'db' } }, 'options.target.databse is not a connection field; did you mean database?'],
    ['a connection field has another tool\'s name', { ...valid, source: { host: 'h', user: 'me' } }, 'options.source.user is not a connection field; did you mean username?'],
    ['host is missing', { ...valid, source: { port: 5432 } }, 'options.source.host is required'],
    ['host is empty', { ...valid, source: { host: '' } }, 'options.source.host must not be empty'],
    ['port is out of range', { ...valid, source: { host: 'h', port: 70000 } }, 'options.source.port must be a TCP port (1-65535), got 70000'],
    ['port is not digits', { ...valid, source: { host: 'h', port: '54x' } }, 'options.source.port must be a TCP port (1-65535), got "54x"'],
    ['port is an object', { ...valid, source: { host: 'h', port: {} } }, 'options.source.port must be a number or a string of digits, got object'],
    ['the URI port is not a port', { ...valid, source: 'postgres://u@h:99999/db' }, 'options.source is a URI that cannot be parsed'],
    ['username is a number', { ...valid, target: { host: 'h', username: 7 } }, 'options.target.username must be a string, got number'],
    ['database is empty', { ...valid, target: { host: 'h', database: '' } }, 'options.target.database must not be empty'],
    ['password is a number', { ...valid, target: { host: 'h', password: 1234 } }, 'options.target.password must be a string, got number'],
    ['ssl is misspelt', { ...valid, target: { host: 'h', ssl: 'verify_full' } }, "options.target.ssl must be an sslmode or true/false, got \"verify_full\"; did you mean 'verify-full'?"],
    ['ssl is a number', { ...valid, target: { host: 'h', ssl: 1 } }, 'options.target.ssl must be an sslmode or true/false, got number'],
    ['sslrootcert is a buffer', { ...valid, target: { host: 'h', sslrootcert: Buffer.from('x') } }, 'options.target.sslrootcert must be a string, got object'],
    ['the URI sslmode is unknown', { ...valid, target: 'postgres://h/db?sslmode=sometimes' }, 'options.target (its sslmode parameter) must be an sslmode'],
  ];

  it.each(rows)('reject the options when %s, naming the field', (_what, input, text) => {
    const error = normalizeOptions(input)._unsafeUnwrapErr();
    expect(error.kind).toBe('options');
    expect(error.message).toContain(text);
    expect(error.hint, 'every options error says what to do').toEqual(expect.any(String));
    expect(JSON.stringify(error)).not.toMatch(/s3cret|t4rget|1234/);
  });

  it('name the side in errors about one connection', () => {
    expect(normalizeOptions({ ...valid, target: { host: 'h', port: 0 } })._unsafeUnwrapErr()).toMatchObject({ side: 'target' });
  });

  it('report every problem at once, the first in the message and all in reasons', () => {
    const error = normalizeOptions({ source: SOURCE, databases: 'x', jobs: 0 })._unsafeUnwrapErr();
    expect(error.message).toContain('(and 2 more: see reasons)');
    expect(error.reasons).toEqual([
      expect.stringContaining('options.target is required'),
      expect.stringContaining('options.databases must be an array'),
      expect.stringContaining('options.jobs must be a positive integer'),
    ]);
  });

  it('fill every default, including the newer options', () => {
    expect(normalizeOptions(valid)._unsafeUnwrap()).toMatchObject({
      method: 'auto',
      databases: undefined,
      ignoreDatabases: [],
      pgBinDir: undefined,
      jobs: 2,
      syncTimeoutMs: 6 * 60 * 60 * 1000,
      pollIntervalMs: 500,
      allowNonEmptyTarget: false,
      maxLagBytes: 1073741824,
      stopTimeoutMs: 300000,
    });
  });

  it('keep what was given, treating undefined as left out', () => {
    const options = normalizeOptions({
      ...valid,
      method: 'dump',
      databases: ['a', 'b'],
      ignoreDatabases: ['c'],
      pgBinDir: '/usr/lib/postgresql/17/bin',
      jobs: 4,
      syncTimeoutMs: 1000,
      pollIntervalMs: undefined,
      allowNonEmptyTarget: true,
      maxLagBytes: 1024,
      stopTimeoutMs: 60000,
    })._unsafeUnwrap();
    expect(options).toMatchObject({ method: 'dump', databases: ['a', 'b'], ignoreDatabases: ['c'], jobs: 4, pollIntervalMs: 500, allowNonEmptyTarget: true, maxLagBytes: 1024, stopTimeoutMs: 60000 });
  });

  it('copy the database lists, so a later change by the caller changes nothing', () => {
    const databases = ['a'];
    const options = normalizeOptions({ ...valid, databases })._unsafeUnwrap();
    databases.push('b');
    expect(options.databases).toEqual(['a']);
  });

  const throwing = (): never => {
    throw new Error('getter exploded with s3cret');
  };
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const hostile: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 7],
    ['a string', 'postgres://h/db'],
    ['a symbol', Symbol('options')],
    ['a bigint', 10n],
    ['a function', () => valid],
    ['an array', [1, 2]],
    ['a Date', new Date()],
    ['an object without prototype', Object.create(null)],
    ['a getter that throws', Object.defineProperty({ ...valid }, 'databases', { get: throwing, enumerable: true })],
    ['a source getter that throws', Object.defineProperty({ target: TARGET }, 'source', { get: throwing, enumerable: true })],
    ['a Proxy whose every trap throws', new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, getPrototypeOf: throwing })],
    ['a revoked Proxy', revoked.proxy],
    ['a revoked Proxy as databases', { ...valid, databases: revoked.proxy }],
    ['a Proxy array whose length throws', { ...valid, databases: new Proxy([], { get: throwing }) }],
    ['a sparse array of a billion holes', { ...valid, databases: Object.assign([], { length: 1e9 }) }],
    ['an array with a length beyond the limit', { ...valid, databases: Object.assign(['a'], { length: 200_000 }) }],
    ['an object with a throwing toString', { ...valid, method: { toString: throwing, [Symbol.toPrimitive]: throwing } }],
    ['a symbol where a name belongs', { ...valid, databases: [Symbol('db')] }],
    ['connection fields whose getters throw', { ...valid, target: Object.defineProperty({}, 'host', { get: throwing, enumerable: true }) }],
    ['a Proxy as connection fields', { ...valid, source: new Proxy({}, { ownKeys: throwing }) }],
  ];

  it.each(hostile)('never throw, whatever they are: %s', (_what, input) => {
    const result = normalizeOptions(input);
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr().kind).toBe('options');
    expect(JSON.stringify(result._unsafeUnwrapErr())).not.toContain('s3cret');
    expect(() => secretsOf(input)).not.toThrow();
  });
});

describe('secrets of the options', () => {
  it('are the passwords of both sides, decoded from a URI and as written', () => {
    expect(secretsOf({ source: 'postgres://u:p%40ss@h/db', target: { host: 'h', password: 'fieldpw' } })).toEqual(['p%40ss', 'p@ss', 'fieldpw']);
  });

  it('are found even when the rest of the options are invalid', () => {
    expect(secretsOf({ source: 'postgres://u:pw@h/db', target: 12, databases: 'x' })).toEqual(['pw']);
  });

  it('include a password holding an unencoded "@"', () => {
    expect(secretsOf({ source: 'postgres://u:a@b@h/db' })).toContain('a@b');
  });

  it('are none for anything without passwords', () => {
    for (const input of [undefined, null, 3, 'x', [], {}, { source: 'postgres://h/db' }]) expect(secretsOf(input)).toEqual([]);
  });
});

describe('a Migrator built from plain JavaScript', () => {
  it('never throws, whatever it is given, and every method returns the options error without rejecting', async () => {
    for (const input of [undefined, null, 42, 'postgres://x', [], { databases: 'x' }, { ...valid, databases: 'x' }, { ...valid, colour: 'blue' }]) {
      const migrator = new Migrator(input as never);
      const results = await Promise.all([migrator.preflight(), migrator.migrate(), migrator.status(), migrator.stop()]);
      for (const result of results) expect(result.isErr() && result.error.kind).toBe('options');
      expect((await migrator.close()).isOk()).toBe(true);
    }
  });
});
