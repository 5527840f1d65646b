import type { Check } from '../facts.js';

const SELF_HOSTED = 'Run ALTER SYSTEM SET wal_level = logical; and restart the source server.';
const RDS = "Set the parameter rds.logical_replication = 1 in the source instance's parameter group (a custom one: the default group cannot be changed), then reboot the instance.";

/** Logical decoding needs `wal_level = logical` on the source; the fix is worded for the source's service. */
export const walLevel: Check = ({ source }) => {
  if (source.settings.walLevel === 'logical') return [{ id: 'wal-level', ok: true, side: 'source', message: 'wal_level is logical on the source' }];
  const hint =
    source.managed === 'rds'
      ? RDS
      : source.managed === 'cloudsql'
        ? 'Cloud SQL sources are migrated by dump.'
        : `${SELF_HOSTED} On AWS RDS: ${RDS.charAt(0).toLowerCase()}${RDS.slice(1)}`;
  return [
    {
      id: 'wal-level',
      ok: false,
      side: 'source',
      blocks: 'replication',
      message: `wal_level is ${source.settings.walLevel} on the source; logical replication needs logical`,
      hint,
    },
  ];
};
