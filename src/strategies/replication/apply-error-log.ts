/**
 * Finds, in a PostgreSQL server log, the last error a subscription's workers
 * hit while applying changes. PostgreSQL 15 and later name the replication
 * origin (`pg_<subscription oid>`, or `pg_<oid>_<relid>` for a table
 * synchronisation worker catching up) and the failing transaction's end in
 * the CONTEXT line:
 *
 * ```
 * ... [4711] ERROR:  duplicate key value violates unique constraint "t_pkey"
 * ... [4711] DETAIL:  Key (id)=(5000) already exists.
 * ... [4711] CONTEXT:  processing remote data for replication origin "pg_16392" during message type
 *            "INSERT" for replication target relation "public.t" in transaction 735, finished at 0/1925110
 * ```
 *
 * Only the `stderr` log format with any `log_line_prefix` is understood.
 */

export interface ApplyErrorEntry {
  /** The ERROR line's text, e.g. `duplicate key value violates unique constraint "t_pkey"`. */
  readonly error: string;
  readonly detail: string | null;
  /** `schema.table` the failing change was for, when the server said. */
  readonly relation: string | null;
  /** The end of the failing remote transaction: what `ALTER SUBSCRIPTION ... SKIP (lsn = ...)` takes. */
  readonly finishLsn: string | null;
}

interface Entry {
  readonly level: string;
  readonly text: string;
  readonly pid: string | null;
}

const LINE = /^(.*?)\b(ERROR|DETAIL|CONTEXT|HINT|STATEMENT|LOG|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG\d?):\s\s?(.*)$/;

export function lastApplyError(log: string, subscriptionOid: number): ApplyErrorEntry | null {
  const entries = parse(log);
  const origin = new RegExp(`replication origin "pg_${subscriptionOid}(_\\d+)?"`);
  for (let i = entries.length - 1; i >= 0; i--) {
    const context = entries[i] as Entry;
    if (context.level !== 'CONTEXT' || !origin.test(context.text)) continue;
    // The ERROR and its DETAIL come just before, from the same process.
    let detail: string | null = null;
    for (let j = i - 1; j >= Math.max(0, i - 10); j--) {
      const entry = entries[j] as Entry;
      if (context.pid !== null && entry.pid !== null && entry.pid !== context.pid) continue;
      if (entry.level === 'DETAIL') detail ??= entry.text;
      if (entry.level === 'ERROR') {
        return {
          error: entry.text,
          detail,
          relation: /replication target relation "([^"]+)"/.exec(context.text)?.[1] ?? null,
          finishLsn: /finished at ([0-9A-F]+\/[0-9A-F]+)/i.exec(context.text)?.[1] ?? null,
        };
      }
    }
  }
  return null;
}

/** Log lines as entries; a message's continuation lines (tab-indented) join their entry. */
function parse(log: string): Entry[] {
  const entries: { level: string; text: string; pid: string | null }[] = [];
  for (const line of log.split('\n')) {
    const match = LINE.exec(line);
    if (match) {
      entries.push({ level: match[2] as string, text: (match[3] as string).trim(), pid: /\[(\d+)\]/.exec(match[1] as string)?.[1] ?? null });
    } else if (line.startsWith('\t') && entries.length > 0) {
      const last = entries[entries.length - 1] as { text: string };
      last.text = `${last.text} ${line.trim()}`;
    }
  }
  return entries;
}
