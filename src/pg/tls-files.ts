/**
 * The certificate files a connection names (`sslrootcert`, `sslcert`,
 * `sslkey`), read and checked before any connection is attempted. Node
 * silently ignores a CA file that holds no certificate (the server then looks
 * untrusted), and a malformed client certificate makes `tls.connect` throw
 * where no caller can catch it: each problem is named here instead, with the
 * setting and the file.
 *
 * @module
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { err, ok, type Result } from 'neverthrow';
import type { ConnectionConfig } from '../options.js';

/** The contents of the files, as Node's TLS options take them. */
export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

type Setting = 'sslrootcert' | 'sslcert' | 'sslkey';

/** Reads and checks the files; the error is a sentence naming the setting and the file. */
export function readTlsFiles(config: Pick<ConnectionConfig, Setting>): Result<TlsFiles, string> {
  const files: TlsFiles = {};
  if (config.sslcert && !config.sslkey) return err(`sslcert "${config.sslcert}" is set but sslkey is not: a client certificate needs its key`);
  if (config.sslkey && !config.sslcert) return err(`sslkey "${config.sslkey}" is set but sslcert is not: a client key needs its certificate`);
  for (const [setting, field] of [
    ['sslrootcert', 'ca'],
    ['sslcert', 'cert'],
    ['sslkey', 'key'],
  ] as const) {
    const path = config[setting];
    if (!path) continue;
    const read = readFile(setting, path);
    if (read.isErr()) return err(read.error);
    const problem = setting === 'sslkey' ? keyProblem(read.value) : certificateProblem(read.value);
    if (problem) return err(`${setting} "${path}" ${problem}`);
    files[field] = read.value;
  }
  if (files.cert && files.key) {
    try {
      createSecureContext({ cert: files.cert, key: files.key });
    } catch (error) {
      return err(`sslcert "${config.sslcert}" and sslkey "${config.sslkey}" do not belong together: ${reasonOf(error)}`);
    }
  }
  return ok(files);
}

function readFile(setting: Setting, path: string): Result<Buffer, string> {
  try {
    return ok(readFileSync(path));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read by this process (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${typeof code === 'string' ? code : reasonOf(error)})`;
    return err(`${setting} file "${path}" ${why}`);
  }
}

function certificateProblem(content: Buffer): string | undefined {
  if (!content.includes('-----BEGIN CERTIFICATE-----')) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  try {
    new X509Certificate(content);
    return undefined;
  } catch (error) {
    return `holds a certificate that cannot be read: ${reasonOf(error)}`;
  }
}

function keyProblem(content: Buffer): string | undefined {
  try {
    createPrivateKey(content);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 'ERR_MISSING_PASSPHRASE'
      ? 'holds a key protected by a passphrase, which is not supported: decrypt it (openssl pkey -in key -out key.plain)'
      : 'holds no readable private key (PEM or DER)';
  }
}

function reasonOf(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === 'string') return reason;
  return error instanceof Error ? error.message : String(error);
}
