import type { Check } from '../facts.js';

/** Logical decoding needs `wal_level = logical` on the source. */
export const walLevel: Check = ({ source }) => [
  source.settings.walLevel === 'logical'
    ? { id: 'wal-level', ok: true, side: 'source', message: 'wal_level is logical on the source' }
    : {
        id: 'wal-level',
        ok: false,
        side: 'source',
        blocks: 'replication',
        message: `wal_level is ${source.settings.walLevel} on the source; logical replication needs logical`,
        hint:
          'Run ALTER SYSTEM SET wal_level = logical; and restart the source server. ' +
          'On AWS RDS set the parameter rds.logical_replication = 1 in the parameter group and reboot; ' +
          'on Google Cloud SQL set the flag cloudsql.logical_decoding = on.',
      },
];
