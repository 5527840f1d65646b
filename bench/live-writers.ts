/**
 * The "live" measurement: `pgbench -c 2` writes on the source throughout a
 * replication; the lag of the database's logical slots is sampled every
 * second; once the replication is there, the writers go on for a while, then
 * stop, and the time until the destination holds exactly the source's
 * pgbench_history rows and account balances is the catch-up time.
 */
import type { ChildProcess } from 'node:child_process';
import type { Cluster } from './clusters.js';
import { PG_BIN, finished, sleep, start } from './processes.js';

export interface LagSample {
  /** Seconds since the run started. */
  readonly at: number;
  /** Bytes of WAL the source wrote that the destination has not confirmed; null before a slot exists. */
  readonly lagBytes: number | null;
}

export interface LiveMeasurement {
  readonly samples: readonly LagSample[];
  /** When the tool reported the replication there (`syncing`, every table ready). */
  readonly syncingAt: number;
  readonly writersStoppedAt: number;
  /** From stopping the writers until the destination's rows equal the source's; null if they never did. */
  readonly catchUpSeconds: number | null;
  readonly source: Totals;
  readonly target: Totals;
  /** pgbench_history rows and the sum of abalance equal on both sides once the writers stopped. */
  readonly rowsEqual: boolean;
}

interface Totals {
  readonly historyRows: number;
  readonly balanceSum: string;
}

const CATCH_UP_TIMEOUT_MS = 120_000;

async function totals(cluster: Cluster, database: string): Promise<Totals> {
  const sql = cluster.sql(database);
  const [row] = await sql<{ history_rows: string; balance_sum: string }[]>`
    select (select count(*) from pgbench_history)::text as history_rows,
           (select coalesce(sum(abalance), 0) from pgbench_accounts)::text as balance_sum`;
  return { historyRows: Number(row?.history_rows ?? 0), balanceSum: row?.balance_sum ?? '' };
}

export class LiveWriters {
  readonly #source: Cluster;
  readonly #database: string;
  readonly #started = process.hrtime.bigint();
  readonly #samples: LagSample[] = [];
  #writers: ChildProcess | undefined;
  #writersDone: Promise<void> | undefined;
  #sampler: NodeJS.Timeout | undefined;

  constructor(source: Cluster, database: string) {
    this.#source = source;
    this.#database = database;
  }

  #now(): number {
    return Number(process.hrtime.bigint() - this.#started) / 1e9;
  }

  /** Starts `pgbench -c 2` (at `rate` transactions per second, or flat out when 0) and the lag sampler. */
  start(env: NodeJS.ProcessEnv, rate: number): void {
    const source = this.#source;
    this.#writers = start(
      `${PG_BIN}/pgbench`,
      ['-c', '2', '-j', '2', '-n', '-T', '86400', ...(rate > 0 ? ['-R', String(rate)] : []), '-h', source.host, '-p', String(source.port), '-U', 'postgres', this.#database],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // Stopped by a signal on purpose; only an early end would be news, and the totals show it.
    this.#writersDone = finished(this.#writers, 'pgbench').catch(() => undefined);
    this.#sampler = setInterval(() => void this.#sample(), 1000);
  }

  async #sample(): Promise<void> {
    const at = this.#now();
    try {
      const [row] = await this.#source.sql()<{ lag: string | null }[]>`
        select max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn))::text as lag
        from pg_replication_slots
        where database = ${this.#database} and slot_type = 'logical' and not temporary`;
      this.#samples.push({ at, lagBytes: row?.lag == null ? null : Number(row.lag) });
    } catch {
      this.#samples.push({ at, lagBytes: null });
    }
  }

  /**
   * Called when the replication is there: lets the writers run `seconds`
   * more, stops them, and waits until the destination has caught up.
   */
  async measure(target: Cluster, seconds: number): Promise<LiveMeasurement> {
    const syncingAt = this.#now();
    await sleep(seconds * 1000);
    await this.stopWriters();
    const writersStoppedAt = this.#now();
    const source = await totals(this.#source, this.#database);
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    let destination = await totals(target, this.#database);
    let catchUpSeconds: number | null = null;
    for (;;) {
      if (destination.historyRows === source.historyRows && destination.balanceSum === source.balanceSum) {
        catchUpSeconds = this.#now() - writersStoppedAt;
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(100);
      destination = await totals(target, this.#database);
    }
    // A few more samples show the lag settling at zero.
    await sleep(1500);
    this.#stopSampler();
    return {
      samples: [...this.#samples],
      syncingAt,
      writersStoppedAt,
      catchUpSeconds,
      source,
      target: destination,
      rowsEqual: destination.historyRows === source.historyRows && destination.balanceSum === source.balanceSum,
    };
  }

  /** Stops pgbench and waits until its sessions are gone, so no commit of theirs is still on its way. */
  async stopWriters(): Promise<void> {
    if (!this.#writers) return;
    this.#writers.kill('SIGTERM');
    await this.#writersDone;
    this.#writers = undefined;
    for (let i = 0; i < 100; i++) {
      const [row] = await this.#source.sql()<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = ${this.#database} and application_name = 'pgbench'`;
      if (row?.n === 0) return;
      await sleep(50);
    }
  }

  #stopSampler(): void {
    if (this.#sampler) clearInterval(this.#sampler);
    this.#sampler = undefined;
  }

  /** Ends whatever still runs; safe after {@link measure} and after a failure. */
  async end(): Promise<void> {
    this.#stopSampler();
    await this.stopWriters();
  }
}
