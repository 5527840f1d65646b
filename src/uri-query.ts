/**
 * A connection URI's query string, read as libpq reads it. The client tools
 * and the destination's subscription are libpq, so a parameter libpq rejects
 * must be refused here too, and one it honours must mean the same: anything
 * else silently connects differently (a misspelt `sslmod=verify-full` would
 * otherwise connect with the default `prefer`).
 *
 * @module
 */
import { closestName } from './util/did-you-mean.js';

/** What the library reads from a query: libpq's meaning, the last occurrence winning as in libpq. */
export interface UriQuery {
  readonly host?: string;
  readonly port?: string;
  readonly dbname?: string;
  readonly user?: string;
  readonly password?: string;
  readonly sslmode?: string;
  readonly sslrootcert?: string;
  readonly sslcert?: string;
  readonly sslkey?: string;
}

/** A problem with one parameter, as a sentence that never quotes a value (it may be a password). */
export interface UriQueryProblem {
  readonly message: string;
  readonly hint: string;
}

const HONOURED: readonly (keyof UriQuery)[] = ['host', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey'];

/**
 * libpq parameters that change nothing this library's connections must agree
 * on: accepted and left out, as service URIs often carry them.
 */
const IGNORED = [
  'application_name',
  'fallback_application_name',
  'connect_timeout',
  'client_encoding',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'sslcompression',
  'sslsni',
];

/** Ignored only at these values; any other would ask for a guarantee our connections cannot give. */
const IGNORED_AT: Readonly<Record<string, readonly string[]>> = {
  channel_binding: ['disable', 'prefer'],
  gssencmode: ['disable', 'prefer'],
};

/** libpq parameters (PostgreSQL 18) the library cannot honour, refused rather than ignored. */
const UNSUPPORTED = [
  'hostaddr',
  'passfile',
  'require_auth',
  'channel_binding',
  'gssencmode',
  'options',
  'replication',
  'sslnegotiation',
  'sslcertmode',
  'sslpassword',
  'sslkeylogfile',
  'sslcrl',
  'sslcrldir',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'min_protocol_version',
  'max_protocol_version',
  'krbsrvname',
  'gsslib',
  'gssdelegation',
  'service',
  'target_session_attrs',
  'load_balance_hosts',
  'scram_client_key',
  'scram_server_key',
  'oauth_issuer',
  'oauth_client_id',
  'oauth_client_secret',
  'oauth_scope',
];

const READ = `sslmode, sslrootcert, sslcert, sslkey, host, port, dbname, user and password`;

/**
 * Reads `query` (the text after the URI's `?`). Names are case-sensitive and
 * values percent-decoded, `+` kept as written, as in libpq; `ssl=true` is
 * libpq's JDBC spelling of `sslmode=require`.
 */
export function readUriQuery(query: string): { readonly query: UriQuery; readonly problems: readonly UriQueryProblem[] } {
  const read: { -readonly [K in keyof UriQuery]: UriQuery[K] } = {};
  const problems: UriQueryProblem[] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    if (equals < 0) {
      problems.push({ message: 'has a URI query parameter without "=" (libpq rejects it too)', hint: 'Write each query parameter as name=value, joined by "&".' });
      continue;
    }
    const name = decode(part.slice(0, equals));
    const value = decode(part.slice(equals + 1));
    if (name === undefined || value === undefined) {
      problems.push({ message: 'has a URI query parameter with invalid percent-encoding', hint: 'Percent-encode special characters in the query as %XX.' });
      continue;
    }
    const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
    if (name === 'ssl') {
      if (value === 'true') read.sslmode = 'require';
      else problems.push({ message: `has the URI query parameter ${shown} with a value other than true, which libpq rejects`, hint: 'Use sslmode=require (or ssl=true) for TLS, or sslmode=disable for none.' });
    } else if ((HONOURED as readonly string[]).includes(name)) {
      read[name as keyof UriQuery] = value;
    } else if (IGNORED.includes(name) || IGNORED_AT[name]?.includes(value)) {
      // Nothing our connections do depends on it.
    } else if (UNSUPPORTED.includes(name)) {
      problems.push({
        message: `has the libpq parameter ${shown} (or this value of it), which is not supported by datalakehouse-db-migrate`,
        hint: `Remove it: the library reads ${READ} from a URI's query, and connects the same way from every tool.`,
      });
    } else {
      const suggestion = closestName(name, [...HONOURED, 'ssl', ...IGNORED, ...UNSUPPORTED]);
      problems.push({
        message: `has an invalid URI query parameter ${shown}, which libpq rejects too${suggestion ? `; did you mean ${suggestion}?` : ''}`,
        hint: `Parameter names are case-sensitive; the library reads ${READ}.`,
      });
    }
  }
  return { query: read, problems };
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
