import type { Sql } from 'postgres';

/**
 * The last `maxBytes` of the server's current log file, or null when there is
 * none to read: no logging collector (`pg_current_logfile()` is null), or a
 * role that may not read server files. Rights are checked first, so a role
 * without them leaves no "permission denied" in the server's log.
 */
export async function serverLogTail(sql: Sql, maxBytes: number): Promise<string | null> {
  const [rights] = await sql<{ may: boolean }[]>`
    select (r.rolsuper or (to_regrole('pg_read_server_files') is not null
                           and pg_has_role(current_user, 'pg_read_server_files', 'member')))
           and has_function_privilege('pg_catalog.pg_current_logfile()', 'execute')
           and has_function_privilege('pg_catalog.pg_stat_file(text)', 'execute')
           and has_function_privilege('pg_catalog.pg_read_binary_file(text, bigint, bigint)', 'execute') as may
    from pg_roles r where r.rolname = current_user`;
  if (!rights?.may) return null;
  const [file] = await sql<{ path: string | null }[]>`select pg_current_logfile() as path`;
  if (!file?.path) return null;
  // Binary, because a cut through a multi-byte character would make pg_read_file fail.
  const [tail] = await sql<{ bytes: Buffer }[]>`
    select pg_read_binary_file(${file.path}, greatest((pg_stat_file(${file.path})).size - ${maxBytes}::bigint, 0), ${maxBytes}::bigint) as bytes`;
  return tail ? Buffer.from(tail.bytes).toString('utf8') : null;
}
