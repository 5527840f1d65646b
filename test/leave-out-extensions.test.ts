import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { findTools, type PgTools } from '../src/pg/tools.js';
import { namesExtension } from '../src/schema/schema-dump.js';
import { startClusters, type Cluster } from './support/cluster.js';

const run = promisify(execFile);

describe('extensions left out of a migration (excludeExtensions)', () => {
  let source: Cluster;
  let target: Cluster;
  let tools: PgTools;

  const extensionsOf = async (cluster: Cluster, db: string): Promise<string[]> =>
    (await cluster.sql(db)<{ name: string }[]>`select extname as name from pg_extension order by 1`).map((r) => r.name);

  /** The pre-data script pg_restore writes for a schema dump of `db`, as the migration reads it. */
  const preDataScript = async (db: string): Promise<string> => {
    const env = { ...process.env, PGPASSWORD: source.password };
    const args = ['-h', source.host, '-p', String(source.port), '-U', source.username];
    const { stdout: dump } = await run(join(tools.binDir, 'pg_dump'), [...args, '--schema-only', '--format=custom', db], { env, encoding: 'buffer', maxBuffer: 1 << 26 });
    const child = execFile(join(tools.binDir, 'pg_restore'), ['--section=pre-data', '--verbose', '--file=-'], { maxBuffer: 1 << 26 });
    child.stdin?.end(dump);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: string) => (out += chunk));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`pg_restore exited with ${code}`))));
    });
  };

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, {}])) as [Cluster, Cluster];
    tools = (await findTools(undefined))._unsafeUnwrap();
    await source.exec('create database leaves');
    await source.exec(
      `create extension pg_trgm;
       comment on extension pg_trgm is 'trigrams, not wanted on the destination';
       create extension "uuid-ossp";
       create extension citext;
       create table notes (id int primary key, body citext not null);
       insert into notes select g, 'Note ' || g from generate_series(1, 300) g;`,
      'leaves',
    );
    await source.exec('create database keeps');
    await source.exec(
      `create extension hstore;
       create table things (id int primary key, attrs hstore);
       insert into things select g, hstore('k', g::text) from generate_series(1, 200) g;`,
      'keeps',
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('creates neither the extensions left out nor their comments (a quoted name too), and migrates the rest', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['leaves', 'keeps'], excludeExtensions: ['pg_trgm', 'uuid-ossp'] });
    const result = await migrator.migrate();
    await migrator.close();
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap().databases.map((d) => [d.dbname, d.status]), JSON.stringify(result._unsafeUnwrap().databases.map((d) => d.error))).toEqual(expect.arrayContaining([['leaves', 'done'], ['keeps', 'done']]));
    expect(await extensionsOf(target, 'leaves')).toEqual(['citext', 'plpgsql']);
    expect(await extensionsOf(target, 'keeps')).toEqual(['hstore', 'plpgsql']);
    const [notes] = await target.sql('leaves')<{ n: number; found: number }[]>`
      select count(*)::int as n, count(*) filter (where body = 'NOTE 7')::int as found from notes`;
    expect(notes).toEqual({ n: 300, found: 1 });
    const [things] = await target.sql('keeps')<{ n: number }[]>`select count(*)::int as n from things where attrs -> 'k' = id::text`;
    expect(things?.n).toBe(200);
  });

  it('tells from a pre-data script whether it has an extension, or an extension\'s comment, of the names given', async () => {
    const script = await preDataScript('leaves');
    expect(namesExtension(script, ['pg_trgm'])).toBe(true);
    expect(namesExtension(script, ['uuid-ossp'])).toBe(true);
    expect(namesExtension(script, ['hstore', 'pglogical'])).toBe(false);
    // Only a comment on the extension: the extension itself is elsewhere.
    const commentOnly = script
      .split('\n')
      .filter((line) => !/^-- Name: pg_trgm; Type: EXTENSION;/.test(line))
      .join('\n');
    expect(commentOnly).toContain('-- Name: EXTENSION pg_trgm; Type: COMMENT;');
    expect(namesExtension(commentOnly, ['pg_trgm'])).toBe(true);
    // A table's comment is not an extension's.
    expect(namesExtension('-- Name: TABLE pg_trgm; Type: COMMENT; Schema: public; Owner: me\n', ['pg_trgm'])).toBe(false);
  });
});
