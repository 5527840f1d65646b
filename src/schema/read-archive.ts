/** pg_restore run on an archive alone, without any connection: its script or its list, as text. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { PgTools } from '../pg/tools.js';

/** Runs pg_restore on a dump file, without any connection, and returns what it writes. */
export function readArchive(tools: PgTools, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
    const child = spawn(join(tools.binDir, 'pg_restore'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errOut.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`pg_restore exited with ${code}: ${Buffer.concat(errOut).toString('utf8').trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}
