/**
 * Puts the `datalakehouse_extras` extension where a test server finds it, as
 * an administrator would by hand: its control file and script copied into the
 * server's `extension` directory.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binariesFor, type Major } from './binaries.js';

const SOURCE = fileURLToPath(new URL('../../extension/datalakehouse_extras/', import.meta.url));
const CONTROL = 'datalakehouse_extras.control';
const FILES = [CONTROL, 'datalakehouse_extras--1.0.sql'] as const;

/** The directory `$(pg_config --sharedir)/extension` of `major`'s server. */
export function extensionDirectory(major: Major): string {
  const bin = binariesFor(major);
  // Debian's packages keep the share directory apart from the binaries; the npm packages keep them side by side.
  if (bin.startsWith('/usr/lib/postgresql/')) return `/usr/share/postgresql/${major}/extension`;
  return join(bin, '..', 'share', 'postgresql', 'extension');
}

/**
 * Installs the extension's files for `major`, rewriting only those whose
 * content differs, each through a rename so that a server reading it
 * meanwhile never sees half a file.
 */
export function installExtrasExtension(major: Major): void {
  const target = extensionDirectory(major);
  if (!existsSync(target)) throw new Error(`PostgreSQL ${major} has no extension directory at ${target}`);
  for (const name of FILES) {
    let content = readFileSync(join(SOURCE, name), 'utf8');
    // PostgreSQL 12 rejects the `trusted` parameter (13 introduced it); there a superuser installs the extension.
    if (name === CONTROL && major < 13) content = content.replace(/^trusted\s*=.*\n/m, '');
    const path = join(target, name);
    if (existsSync(path) && readFileSync(path, 'utf8') === content) continue;
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content, { mode: 0o644 });
    renameSync(temporary, path);
  }
}
