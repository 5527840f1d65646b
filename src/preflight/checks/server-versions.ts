import type { Check, Finding } from '../facts.js';

/** The destination must be the same major or newer; replication needs a source of 10 or later. */
export const serverVersions: Check = ({ source, target }) => {
  const versions = `source ${source.settings.version}, destination ${target.settings.version}`;
  const findings: Finding[] = [
    target.settings.major >= source.settings.major
      ? { id: 'server-versions', ok: true, message: `Versions: ${versions}` }
      : {
          id: 'server-versions',
          ok: false,
          blocks: 'migration' as const,
          side: 'target' as const,
          message: `The destination (${target.settings.major}) is older than the source (${source.settings.major}): ${versions}`,
          hint: 'Migrate to a destination of the same PostgreSQL major or newer.',
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
