import { isMigrationError } from '../../errors.js';
import type { Check } from '../facts.js';

/** pg_dump can only dump servers up to its own major. */
export const pgDump: Check = ({ tools, source }) => {
  if (isMigrationError(tools)) {
    return [{ id: 'pg-dump', ok: false, blocks: 'migration', message: tools.message, ...(tools.hint ? { hint: tools.hint } : {}) }];
  }
  if (tools.major < source.settings.major) {
    return [
      {
        id: 'pg-dump',
        ok: false,
        blocks: 'migration',
        message: `pg_dump ${tools.major} (${tools.binDir}) cannot dump a PostgreSQL ${source.settings.major} source`,
        hint: `Install the client tools of PostgreSQL ${source.settings.major} or later (apt-get install postgresql-client-${source.settings.major}) and pass pgBinDir.`,
      },
    ];
  }
  return [{ id: 'pg-dump', ok: true, message: `${tools.version} in ${tools.binDir}` }];
};
