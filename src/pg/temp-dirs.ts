/**
 * The library's private temporary directories (passfiles, schema dumps).
 * Each is named for the process that owns it, `dlh-migrate-<pid>-XXXXXX` or
 * `dlh-migrate-<purpose>-<pid>-XXXXXX`, so that the directories of a run that
 * crashed before cleaning up can be told from those of a run still going,
 * and removed.
 *
 * @module
 */
import { mkdtemp, readdir, rm, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'dlh-migrate-';
/** `dlh-migrate-[purpose-]<pid>-XXXXXX`, mkdtemp's six characters last. */
const NAME = /^dlh-migrate-(?:[a-z]+-)?(\d+)-[A-Za-z0-9]{6}$/;

/** Creates a private (0700) directory in the system's temporary directory, named for this process. */
export function makeTempDir(purpose?: 'schema'): Promise<string> {
  return mkdtemp(join(tmpdir(), `${PREFIX}${purpose ? `${purpose}-` : ''}${process.pid}-`));
}

/**
 * Removes the temporary directories left by processes of this user that are
 * no longer running; returns how many were removed. A directory of a live
 * process, of another user, or not named by {@link makeTempDir} is never
 * touched. Never rejects: what cannot be removed is left for a later sweep.
 * (Processes are judged in this machine's process namespace, where the
 * directories are made.)
 */
export async function sweepStaleTempDirs(): Promise<number> {
  const dir = tmpdir();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const stats = await lstat(path);
      if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
      removed += 1;
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

/** Whether a process with this id runs; one of another user (EPERM) counts as running. */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ESRCH';
  }
}
