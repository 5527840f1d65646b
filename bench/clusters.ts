/**
 * Throwaway PostgreSQL 15 clusters for the bench, from the test harness, with
 * server settings for bulk loading. fsync, full_page_writes and
 * synchronous_commit stay off, as the harness has them, for every tool alike.
 */
import { existsSync } from 'node:fs';
import { startCluster, type Cluster } from '../test/support/cluster.js';
import type { TargetMajor } from './options.js';

export type { Cluster } from '../test/support/cluster.js';

export function benchSettings(jobs: number): Record<string, string | number> {
  return {
    shared_buffers: "'256MB'",
    maintenance_work_mem: "'256MB'",
    work_mem: "'16MB'",
    max_wal_size: "'16GB'",
    min_wal_size: "'1GB'",
    checkpoint_timeout: "'1h'",
    // Table-sync workers of a plain subscription copy `jobs` tables at once, like every other tool.
    max_sync_workers_per_subscription: jobs,
    max_logical_replication_workers: Math.max(8, jobs + 2),
    max_worker_processes: Math.max(16, jobs + 8),
    max_parallel_maintenance_workers: jobs,
    max_connections: 200,
    wal_sender_timeout: "'5min'",
    autovacuum: 'on',
  };
}

const live = new Set<Cluster>();

/**
 * Starts one cluster with the bench's settings. Every cluster of a bench run
 * shares `password`, so client tools authenticate through one PGPASSWORD.
 */
export async function startBenchCluster(password: string, jobs: number, baseDir?: string, major: TargetMajor = 15): Promise<Cluster> {
  const cluster = await startCluster({ major, password, settings: benchSettings(jobs), ...(baseDir ? { baseDir } : {}) });
  live.add(cluster);
  return cluster;
}

export async function stopBenchCluster(cluster: Cluster): Promise<void> {
  live.delete(cluster);
  await cluster.stop();
}

/**
 * Where each tool's destination cluster lives: in memory (`/dev/shm`) when
 * the machine has it, so that no tool inherits work from the one before.
 *
 * - On disk, deleting a destination's thousands of files slows the next
 *   tool's file creation for a minute or more: ext4 skips recently deleted
 *   inodes when it allocates one. On "tiny" (3,000 files a destination) that
 *   took a pre-data restore from 0.45 s to 1.7-2.9 s for whichever tool ran
 *   next (`perf`: `recently_deleted` under `__ext4_new_inode`): every tool
 *   but the first paid it.
 * - Keeping the destinations until the end instead left the kernel
 *   reclaiming their page cache while later tools ran: on "big" the pipe's
 *   4.6 s became 6.9 s, even with a `sync` between tools.
 *
 * `BENCH_TARGET_DIR` puts them elsewhere. fsync is off on every cluster, so
 * a disk only ever mattered through such leftovers.
 */
export function targetBaseDir(): string | undefined {
  const chosen = process.env['BENCH_TARGET_DIR'];
  if (chosen) return chosen;
  return existsSync('/dev/shm') ? '/dev/shm' : undefined;
}

/** Stops every cluster the bench still has running. */
export async function stopAllBenchClusters(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((c) => c.stop().catch(() => undefined)));
}

/** A libpq URI without the password, for tools that read it from PGPASSWORD. */
export function toolUri(cluster: Cluster, database: string): string {
  return `postgres://postgres@${cluster.host}:${cluster.port}/${encodeURIComponent(database)}?sslmode=disable`;
}
