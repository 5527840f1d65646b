import type { Sql } from 'postgres';

/** The cluster-wide settings that decide what a migration can do. */
export interface ServerSettings {
  readonly versionNum: number;
  readonly major: number;
  readonly version: string;
  readonly walLevel: string;
  readonly maxReplicationSlots: number;
  readonly maxWalSenders: number;
  readonly maxLogicalReplicationWorkers: number;
  readonly maxWorkerProcesses: number;
  /**
   * The TOAST compression methods this build offers (`pglz`, and `lz4` only
   * when built with it); none before PostgreSQL 14, which has no COMPRESSION.
   */
  readonly toastCompressionMethods: readonly string[];
  /** The cluster's identity from pg_control; `null` where the role may not read it. */
  readonly systemIdentifier: string | null;
}

export async function serverSettings(sql: Sql): Promise<ServerSettings> {
  const rows = await sql<{ name: string; setting: string; enumvals: string[] | null }[]>`
    select name, setting, enumvals from pg_settings
    where name in ('server_version_num', 'server_version', 'wal_level', 'max_replication_slots',
                   'max_wal_senders', 'max_logical_replication_workers', 'max_worker_processes',
                   'default_toast_compression')`;
  const get = (name: string): string => rows.find((r) => r.name === name)?.setting ?? '';
  const versionNum = Number(get('server_version_num'));
  return {
    versionNum,
    major: Math.floor(versionNum / 10000),
    version: get('server_version'),
    walLevel: get('wal_level'),
    maxReplicationSlots: Number(get('max_replication_slots')),
    maxWalSenders: Number(get('max_wal_senders')),
    maxLogicalReplicationWorkers: Number(get('max_logical_replication_workers')),
    maxWorkerProcesses: Number(get('max_worker_processes')),
    // The setting's choices are the methods the server was built with: lz4 is compiled in or not.
    toastCompressionMethods: rows.find((r) => r.name === 'default_toast_compression')?.enumvals ?? [],
    systemIdentifier: await systemIdentifier(sql),
  };
}

/** The cluster's identity from pg_control; `null` where the role may not read it. */
export async function systemIdentifier(sql: Sql): Promise<string | null> {
  try {
    const [row] = await sql<{ id: string }[]>`select system_identifier::text as id from pg_control_system()`;
    return row?.id ?? null;
  } catch {
    return null;
  }
}
