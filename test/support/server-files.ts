/**
 * As root the servers run as the `postgres` OS user, who cannot reach an npm
 * package's binaries inside a checkout closed to it (under /root, or in a
 * 0700 directory): there initdb failed with `Permission denied`. So, as root,
 * a package's `native/` directory is mirrored once per package version under
 * the system temporary directory — where the clusters' data directories
 * already live — and the servers run from the mirror.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Written last into a mirror, so a mirror without it is one whose making was interrupted. */
const COMPLETE = '.complete';

/**
 * The `native/` directory of the installed package at `packageRoot` (bin,
 * lib, share), at a path the server's OS user can reach: the package's own
 * when this process is not root (the servers then run as this user), else a
 * mirror of it.
 */
export function reachableNative(packageRoot: string): string {
  const native = join(packageRoot, 'native');
  if (process.getuid?.() !== 0) return native;
  const { name, version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  const mirrors = join(tmpdir(), 'dlh-migrate-servers');
  const mirror = join(mirrors, `${name.replace(/^@/, '').replace(/[^a-zA-Z0-9.-]+/g, '-')}-${version}`);
  if (existsSync(join(mirror, COMPLETE))) return mirror;

  mkdirSync(mirrors, { recursive: true });
  chmodSync(mirrors, 0o755);
  // Made aside and renamed into place, so that concurrent test processes never use half a mirror.
  const staging = mkdtempSync(join(mirrors, '.staging-'));
  try {
    copyTree(native, staging);
    writeFileSync(join(staging, COMPLETE), '');
    if (existsSync(mirror) && !existsSync(join(mirror, COMPLETE))) rmSync(mirror, { recursive: true, force: true });
    renameSync(staging, mirror);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Another process finished the same mirror first.
    if (!existsSync(join(mirror, COMPLETE))) throw error;
  }
  return mirror;
}

/**
 * Recreates `from` in `to`: directories open to every user, symbolic links
 * as they are, files hard-linked (no copy of the package's 60 MB) or, across
 * file systems, copied with their modes.
 */
function copyTree(from: string, to: string): void {
  chmodSync(to, 0o755);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      mkdirSync(target);
      copyTree(source, target);
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target);
    } else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
        chmodSync(target, lstatSync(source).mode & 0o7777);
      }
    }
  }
}
