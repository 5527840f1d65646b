/**
 * Where the CLI finds the source and the destination: a `--source`/`--target`
 * URI, else `SOURCE_SERVICE_URI`/`TARGET_SERVICE_URI`, else the migration
 * guide's fields (`SRC_HOSTNAME`, `SRC_PORT`, ... and `DEST_*` alike) as the
 * library's connection fields. A `*_PASSWORD` variable also fills in the
 * password of a URI written without one, so it need never be in argv.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { ConnectionFields, ConnectionInput, MigrationError } from '../index.js';

type Side = 'source' | 'target';

/** The environment variables of each side. */
export const CONNECTION_ENV = {
  source: { uri: 'SOURCE_SERVICE_URI', prefix: 'SRC' },
  target: { uri: 'TARGET_SERVICE_URI', prefix: 'DEST' },
} as const;

const FIELDS = ['HOSTNAME', 'PORT', 'DATABASE', 'USERNAME', 'PASSWORD', 'SSL'] as const;

type Env = Readonly<Record<string, string | undefined>>;

/** One side's connection, from its flag or the environment. */
export function resolveConnection(side: Side, flag: string | undefined, env: Env): Result<ConnectionInput, MigrationError> {
  const { uri: uriVariable, prefix } = CONNECTION_ENV[side];
  const value = (name: string): string | undefined => {
    const text = env[name];
    return text === undefined || text === '' ? undefined : text;
  };
  const password = value(`${prefix}_PASSWORD`);
  const uri = flag ?? value(uriVariable);
  if (uri !== undefined) return ok(password === undefined ? uri : withPassword(uri, password));

  const host = value(`${prefix}_HOSTNAME`);
  if (host === undefined) {
    const given = FIELDS.filter((field) => value(`${prefix}_${field}`) !== undefined).map((field) => `${prefix}_${field}`);
    return err({
      kind: 'options',
      side,
      message: given.length > 0 ? `${prefix}_HOSTNAME is required with ${given.join(', ')}` : `No ${side === 'source' ? 'source' : 'destination'} cluster given`,
      hint: `Set ${uriVariable}, or ${prefix}_HOSTNAME with ${prefix}_PORT, ${prefix}_DATABASE, ${prefix}_USERNAME, ${prefix}_PASSWORD and ${prefix}_SSL, or pass --${side} <uri>.`,
    });
  }
  const fields: { -readonly [K in keyof ConnectionFields]: ConnectionFields[K] } = { host };
  const port = value(`${prefix}_PORT`);
  const database = value(`${prefix}_DATABASE`);
  const username = value(`${prefix}_USERNAME`);
  const ssl = value(`${prefix}_SSL`);
  if (port !== undefined) fields.port = port;
  if (database !== undefined) fields.database = database;
  if (username !== undefined) fields.username = username;
  if (password !== undefined) fields.password = password;
  // The library reads 'true'/'false' and every sslmode, and names the field when it is neither.
  if (ssl !== undefined) fields.ssl = ssl as ConnectionFields['ssl'] & string;
  return ok(fields);
}

/** The URI with `password` in it, unless it has one already (or is not a URI: the library then says why). */
function withPassword(uri: string, password: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri;
  }
  if (!/^postgres(ql)?:$/i.test(url.protocol) || url.password !== '') return uri;
  url.password = encodeURIComponent(password);
  return url.toString();
}
