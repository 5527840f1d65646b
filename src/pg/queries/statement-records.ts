/**
 * The server's records of a statement's text: logs, pg_stat_statements,
 * pg_stat_activity. A `CREATE SUBSCRIPTION` carries the source password in
 * its connection string, so whoever runs one turns off every record the
 * session may turn off, and preflight names the ones it may not.
 *
 * @module
 */
import type { Sql } from 'postgres';

/** One setting that, as it stands, records statement text, with the value that stops it. */
export interface StatementRecorder {
  readonly name: string;
  /** Its value in this session, restored after the statement. */
  readonly setting: string;
  readonly silent: string;
  /** This session may change it: a user setting, a superuser, or `GRANT SET ON PARAMETER` (PostgreSQL 15+). */
  readonly settable: boolean;
  /**
   * The record outlives the statement (a log line, a pg_stat_statements
   * entry); pg_stat_activity shows the text only while it runs, as the
   * statement run after it takes its place (rights/unrecorded.ts).
   */
  readonly lasting: boolean;
}

interface Recorder {
  readonly silent: string;
  readonly records: (value: string) => boolean;
  readonly lasting: boolean;
}

const logs = (silent: string): Recorder => ({ silent, records: (value) => value !== silent, lasting: true });

/**
 * Every setting through which a statement's text can reach a record. Not
 * auto_explain: it explains planned queries only, never a utility statement
 * such as CREATE SUBSCRIPTION. Settings a server lacks (an older major, an
 * extension not loaded) are not in pg_settings and so are skipped.
 */
const RECORDERS: Readonly<Record<string, Recorder>> = {
  log_statement: logs('none'),
  log_min_duration_statement: logs('-1'),
  // PostgreSQL 13+: a sample of the statements over a duration.
  log_min_duration_sample: logs('-1'),
  // Every statement of a sampled transaction, whatever its duration.
  log_transaction_sample_rate: logs('0'),
  // The statement that failed, beside its error.
  log_min_error_statement: logs('panic'),
  // The bound parameters of a failing statement (the extension's function takes the connection string as one).
  log_parameter_max_length_on_error: logs('0'),
  // Parse and plan trees hold the statement's literals.
  debug_print_parse: logs('off'),
  debug_print_rewritten: logs('off'),
  debug_print_plan: logs('off'),
  'pg_stat_statements.track': logs('none'),
  'pg_stat_statements.track_utility': logs('off'),
  track_activities: { silent: 'off', records: (value) => value !== 'off', lasting: false },
};

/** The settings that would record a statement's text in this session now. */
export async function statementRecorders(sql: Sql): Promise<StatementRecorder[]> {
  const [version] = await sql<{ num: number }[]>`select current_setting('server_version_num')::int as num`;
  // has_parameter_privilege is PostgreSQL 15's, as is GRANT SET ON PARAMETER.
  const granted = (version?.num ?? 0) >= 150000 ? sql`or has_parameter_privilege(s.name, 'SET')` : sql``;
  const rows = await sql<{ name: string; setting: string; settable: boolean }[]>`
    select s.name, s.setting,
           (s.context = 'user' or (s.context = 'superuser' and (select rolsuper from pg_roles where rolname = current_user)) ${granted}) as settable
    from pg_settings s
    where s.name = any(${sql.array(Object.keys(RECORDERS))}::text[])
    order by s.name`;
  return rows.flatMap((row) => {
    const recorder = RECORDERS[row.name];
    if (!recorder || !recorder.records(row.setting)) return [];
    return [{ name: row.name, setting: row.setting, silent: recorder.silent, settable: row.settable, lasting: recorder.lasting }];
  });
}
