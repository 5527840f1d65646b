import { conninfoValue } from '../../pg/identifiers.js';
import type { ConnectionConfig } from '../../options.js';
import { SESSION_DEFAULTS_OPTION } from '../../pg/connect.js';

/**
 * The connection string the destination's subscription uses to reach the
 * source database: the same host, user and TLS settings as ours. The host
 * must be reachable from the destination server, not only from here.
 */
export function subscriptionConninfo(config: ConnectionConfig, dbname: string): string {
  const pairs: [string, string | number | undefined][] = [
    ['host', config.host],
    ['port', config.port],
    ['dbname', dbname],
    ['user', config.username],
    ['password', config.password],
    ['sslmode', config.sslmode],
    ['sslrootcert', config.sslrootcert],
    ['sslcert', config.sslcert],
    ['sslkey', config.sslkey],
    ['application_name', 'datalakehouse-db-migrate'],
    // The source database's own timeouts (an application's guard rails) must not cancel the subscription's queries there.
    ['options', SESSION_DEFAULTS_OPTION],
  ];
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined && pair[1] !== '')
    .map(([key, value]) => `${key}=${conninfoValue(String(value))}`)
    .join(' ');
}
