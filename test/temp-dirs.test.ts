import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, sweepStaleTempDirs } from '../src/pg/temp-dirs.js';

/** The id of a process that ran and has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('temporary directories', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('are private and named for the process that owns them', async () => {
    for (const dir of [await makeTempDir(), await makeTempDir('schema')]) {
      made.push(dir);
      expect(basename(dir)).toMatch(new RegExp(`^dlh-migrate-(schema-)?${process.pid}-[A-Za-z0-9]{6}$`));
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
  });

  it('left by a process that is gone are swept; those of a live process and other names are kept', async () => {
    const dead = await deadPid();
    const stale = [join(tmpdir(), `dlh-migrate-${dead}-abc123`), join(tmpdir(), `dlh-migrate-schema-${dead}-XyZ789`)];
    const live = [join(tmpdir(), `dlh-migrate-${process.pid}-keep01`), join(tmpdir(), `dlh-migrate-schema-${process.pid}-keep02`)];
    // A parent of this process (pid 1 here) is alive; a name without a pid is not ours to judge.
    const others = [join(tmpdir(), `dlh-migrate-1-keep03`), join(tmpdir(), `dlh-migrate-${dead}-toolongname`), join(tmpdir(), 'dlh-migrate-nopid1')];
    for (const dir of [...stale, ...live, ...others]) {
      mkdirSync(join(dir, 'inner'), { recursive: true });
      made.push(dir);
    }

    const removed = await sweepStaleTempDirs();

    expect(removed).toBeGreaterThanOrEqual(stale.length);
    for (const dir of stale) expect(existsSync(dir), dir).toBe(false);
    for (const dir of [...live, ...others]) expect(existsSync(dir), dir).toBe(true);
  });
});
