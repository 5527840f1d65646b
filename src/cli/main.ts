#!/usr/bin/env node
/**
 * The `datalakehouse-db-migrate` command: the one place that touches the
 * process (its streams, environment, signals and exit code).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

// A reader that went away (`| head`) is no reason to abandon a migration half-way.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onInterrupt(listener) {
    process.on('SIGINT', listener);
    return () => process.off('SIGINT', listener);
  },
  exitNow(code) {
    process.exit(code);
  },
};

runCli(process.argv.slice(2), io, packageVersion()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error (internal): ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = ExitCode.internal;
  },
);
