/**
 * Child processes of the bench (client tools, pgbench, the library's own
 * process): each is remembered until it exits, so an interrupted bench can
 * end them before its clusters stop. Passwords reach the tools through
 * PGPASSWORD in their environment, never their arguments.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

const children = new Set<ChildProcess>();

/** Ends every child still running, with the processes it started; used when the bench is interrupted. */
export function killChildren(): void {
  for (const child of children) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  children.clear();
}

/** The environment of a client tool: PostgreSQL 15's tools first on PATH, the clusters' shared password. */
export function toolEnv(password: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${PG_BIN}:${process.env['PATH'] ?? ''}`, PGPASSWORD: password, PGSSLMODE: 'disable', ...extra };
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Spawns a child in a process group of its own, so that it and whatever it starts can be ended together. */
export function start(file: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return track(spawn(file, [...args], { ...options, detached: true }));
}

/** Resolves when `child` exits 0; rejects with its stderr's tail otherwise. */
export function finished(child: ChildProcess, name: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${name} exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-8).join('\n')}`));
    });
  });
}

/** Runs a command to completion, its output discarded unless it fails. */
export async function runTool(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = start(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  await finished(child, `${file.split('/').pop() ?? file} ${args[0] ?? ''}`.trim());
}

/** Runs `producer | consumer`, one process each, the way a shell pipe does. */
export async function runPipe(
  producer: { file: string; args: readonly string[] },
  consumer: { file: string; args: readonly string[] },
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const left = start(producer.file, producer.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const right = start(consumer.file, consumer.args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
  if (!left.stdout || !right.stdin) throw new Error('pipe not set up');
  left.stdout.pipe(right.stdin);
  // A consumer that dies early must not leave the producer blocked on a full pipe.
  right.stdin.on('error', () => left.kill('SIGKILL'));
  await Promise.all([finished(left, producer.file.split('/').pop() ?? producer.file), finished(right, consumer.file.split('/').pop() ?? consumer.file)]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
