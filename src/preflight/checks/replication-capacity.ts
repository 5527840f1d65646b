import type { Check, Finding } from '../facts.js';

const RAISE =
  'Raise max_replication_slots and max_wal_senders on the source, max_logical_replication_workers and max_worker_processes on the destination, and restart; or drop unused slots.';

/**
 * Each replicated database holds one slot and one wal sender on the source
 * and one logical-replication worker on the destination. That worker is also
 * a background worker process, and max_worker_processes holds every one of
 * them: the replication launcher's, extensions' and the apply workers'. A
 * database planned beyond it would wait for an apply worker that never starts.
 * Databases get replication in order while capacity lasts; the rest fall back.
 *
 * Parallel query workers are not counted: they come and go, and the launcher
 * retries starting an apply worker until one of them has finished. Reserving
 * max_parallel_workers instead would leave a default destination (8 and 8)
 * with none.
 */
export const replicationCapacity: Check = (facts) => {
  const { source, target } = facts;
  const ownSlots = new Set(source.usage.ownSlots);
  const ownSubscriptions = new Set(target.usage.ownSubscriptions);
  const slots = source.settings.maxReplicationSlots - source.usage.slots;
  const senders = source.settings.maxWalSenders - source.usage.walSenders;
  const workers = target.settings.maxLogicalReplicationWorkers - target.usage.enabledSubscriptions;
  const others = target.backgroundWorkers.other;
  const processes = target.settings.maxWorkerProcesses - others - target.usage.enabledSubscriptions;
  const capacity = Math.max(0, Math.min(slots, senders, workers, processes));
  const short = [
    ...(slots <= capacity ? ['max_replication_slots (source)'] : []),
    ...(senders <= capacity ? ['max_wal_senders (source)'] : []),
    ...(workers <= capacity ? ['max_logical_replication_workers (destination)'] : []),
    ...(processes <= capacity ? ['max_worker_processes (destination)'] : []),
  ].join(', ');
  const processesNote =
    `${processes} worker processes (max_worker_processes ${target.settings.maxWorkerProcesses}, ` +
    `less ${others}${target.backgroundWorkers.complete ? '' : ' or more'} background workers other than replication's, ` +
    `among them the replication launcher, and ${target.usage.enabledSubscriptions} enabled subscriptions)`;
  const findings: Finding[] = [
    {
      id: 'replication-capacity',
      ok: capacity > 0,
      message:
        `Free on the source: ${slots} replication slots, ${senders} wal senders; ` +
        `free on the destination: ${workers} logical replication workers, ${processesNote}`,
      ...(capacity > 0 ? {} : { blocks: 'replication' as const, hint: RAISE }),
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
        message: `No replication slot, wal sender, logical replication worker or worker process left for "${name}" (capacity ${capacity}, bounded by ${short})`,
        hint: RAISE,
      });
    }
  }
  return findings;
};
