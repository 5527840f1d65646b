import type { Check, Finding } from '../facts.js';

/**
 * The destination must be the same major or newer, unless the caller allows
 * an older one; replication needs a source of 10 or later.
 */
export const serverVersions: Check = ({ source, target, allowOlderTarget }) => {
  const versions = `source ${source.settings.version}, destination ${target.settings.version}`;
  const findings: Finding[] = [
    target.settings.major >= source.settings.major
      ? { id: 'server-versions', ok: true, message: `Versions: ${versions}` }
      : {
          id: 'server-versions',
          ok: false,
          ...(allowOlderTarget ? {} : { blocks: 'migration' as const }),
          side: 'target' as const,
          message: `The destination (${target.settings.major}) is older than the source (${source.settings.major}): ${versions}${allowOlderTarget ? '; allowed by allowOlderTarget' : ''}`,
          hint: allowOlderTarget
            ? 'Objects the older server does not know fail to restore, and their database with them; check the report.'
            : 'Migrate to a destination of the same PostgreSQL major or newer, or pass allowOlderTarget: true to try anyway.',
        },
  ];
  if (source.settings.major < 10) {
    findings.push({
      id: 'replication-version',
      ok: false,
      blocks: 'replication' as const,
      side: 'source' as const,
      message: `Logical replication needs PostgreSQL 10 or later on the source, which runs ${source.settings.version}`,
      hint: 'Upgrade the source, or migrate with method dump.',
    });
  }
  return findings;
};
