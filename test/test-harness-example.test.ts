import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusters, type Cluster } from './support/cluster.js';
import { seed } from './support/fixtures.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** examples/test-harness: vitest itself runs the example's specs with its globalSetup, against throwaway clusters. */
describe('the test-harness example', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('gives two runs a fresh copy of the seed each, and drops it when they end', async () => {
    const [before] = await source.sql('shop')<{ n: number }[]>`select count(*)::int as n from orders`;
    const env = { ...process.env, SEED_URI: source.uri(), TEST_CLUSTER_URI: target.uri(), SEED_DATABASE: 'shop' };
    const vitest = (): Promise<{ stdout: string; stderr: string }> =>
      run(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'examples/test-harness/vitest.config.ts'], { cwd: ROOT, env });
    // Two runs at once, as two CI jobs sharing a cluster would.
    const outputs = await Promise.all([vitest(), vitest()]);
    for (const { stdout } of outputs) expect(stdout).toMatch(/Tests\s+.*2 passed/);
    expect(await target.sql()`select datname from pg_database where datname like 'shop\\_test\\_%'`).toEqual([]);
    const [after] = await source.sql('shop')<{ n: number }[]>`select count(*)::int as n from orders`;
    expect(after?.n).toBe(before?.n);
  });
});
