import type { Check } from '../facts.js';

/** Migrating a cluster into itself would subscribe it to itself and restore schemas over their own data. */
export const distinctClusters: Check = ({ source, target }) => {
  const a = source.settings.systemIdentifier;
  const b = target.settings.systemIdentifier;
  if (a !== null && a === b) {
    return [
      {
        id: 'distinct-clusters',
        ok: false,
        blocks: 'migration',
        message: `Source and destination are the same cluster (system identifier ${a})`,
        hint: 'Point the target at the destination service, not at the source.',
      },
    ];
  }
  return [{ id: 'distinct-clusters', ok: true, message: 'Source and destination are different clusters' }];
};
