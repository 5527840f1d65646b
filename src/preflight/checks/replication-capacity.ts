import type { Check, Finding } from '../facts.js';

/**
 * Each replicated database holds one slot and one wal sender on the source
 * and one logical-replication worker on the destination. Databases get
 * replication in order while capacity lasts; the rest fall back.
 */
export const replicationCapacity: Check = (facts) => {
  const { source, target } = facts;
  const ownSlots = new Set(source.usage.ownSlots);
  const ownSubscriptions = new Set(target.usage.ownSubscriptions);
  const slots = source.settings.maxReplicationSlots - source.usage.slots;
  const senders = source.settings.maxWalSenders - source.usage.walSenders;
  const workers = target.settings.maxLogicalReplicationWorkers - target.usage.enabledSubscriptions;
  const capacity = Math.max(0, Math.min(slots, senders, workers));
  const findings: Finding[] = [
    {
      id: 'replication-capacity',
      ok: capacity > 0,
      message:
        `Free on the source: ${slots} replication slots, ${senders} wal senders; ` +
        `free on the destination: ${workers} logical replication workers`,
      ...(capacity > 0
        ? {}
        : {
            blocks: 'replication' as const,
            hint: 'Raise max_replication_slots and max_wal_senders on the source, max_logical_replication_workers (and max_worker_processes) on the destination, and restart; or drop unused slots.',
          }),
    },
  ];
  let used = 0;
  for (const db of facts.databases) {
    const name = db.info.name;
    // A database already replicating (a re-run) keeps what it holds: objects of the name its record keeps, not another destination's.
    const own = db.previous?.replicationName;
    if (db.target.subscriptionExists || (own !== undefined && (ownSlots.has(own) || ownSubscriptions.has(own)))) continue;
    if (used < capacity) {
      used += 1;
      continue;
    }
    if (capacity > 0) {
      findings.push({
        id: 'replication-capacity',
        ok: false,
        database: name,
        blocks: 'replication',
        message: `No replication slot, wal sender or worker left for "${name}" (capacity ${capacity})`,
        hint: 'Raise max_replication_slots and max_wal_senders on the source and max_logical_replication_workers on the destination.',
      });
    }
  }
  return findings;
};
