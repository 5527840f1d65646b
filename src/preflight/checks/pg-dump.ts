import { isMigrationError } from '../../errors.js';
import type { Check } from '../facts.js';

/**
 * The client tools that can dump a `major` source: that major's own package,
 * which Debian and Ubuntu carry only for their default major, so the others
 * come from the PostgreSQL project's apt repository.
 */
function installHint(major: number): string {
  return (
    `Install the client tools of PostgreSQL ${major} or later. On Debian/Ubuntu: apt-get install postgresql-client-${major}, ` +
    `from the PostgreSQL Apt repository (PGDG, https://apt.postgresql.org) when the distribution does not carry ${major}; ` +
    `they are then found in /usr/lib/postgresql/${major}/bin. Installed anywhere else, pass pgBinDir: the directory holding pg_dump, pg_dumpall and pg_restore.`
  );
}

/** pg_dump can only dump servers up to its own major. */
export const pgDump: Check = ({ tools, source }) => {
  const major = source.settings.major;
  if (isMigrationError(tools)) {
    return [{ id: 'pg-dump', ok: false, blocks: 'migration', message: tools.message, hint: installHint(major) }];
  }
  if (tools.major < major) {
    return [
      {
        id: 'pg-dump',
        ok: false,
        blocks: 'migration',
        message: `pg_dump ${tools.major} (${tools.binDir}) cannot dump a PostgreSQL ${major} source`,
        hint: installHint(major),
      },
    ];
  }
  return [{ id: 'pg-dump', ok: true, message: `${tools.version} in ${tools.binDir}` }];
};
