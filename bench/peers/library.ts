/**
 * This library through its public API (`method: 'dump'` or `'replication'`),
 * run in a child process (bench/run-library.ts) so its peak RSS is its own.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LibraryReport, LibrarySpec } from '../run-library.js';
import { finished, start } from '../processes.js';
import type { Tool, ToolRun } from './tool.js';

const ENTRY = fileURLToPath(new URL('../run-library.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function libraryTool(method: 'dump' | 'replication'): Tool {
  return {
    name: method === 'dump' ? 'us-dump' : 'us-replication',
    label: `new Migrator({ method: '${method}', jobs })${method === 'replication' ? ' until syncing, then stop()' : ''}`,
    unavailable: () => undefined,
    async run({ source, target, database, jobs, syncTimeoutMs, reached }): Promise<ToolRun> {
      const spec: LibrarySpec = { source: source.uri(), target: target.uri(), database, method, jobs, syncTimeoutMs };
      // BENCH_CPU_PROF=<dir>: the library's process writes a V8 CPU profile there.
      const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
      const child = start(process.execPath, [...profile, '--import', 'tsx', ENTRY], {
        cwd: ROOT,
        env: { ...process.env, BENCH_LIBRARY_SPEC: JSON.stringify(spec) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const done = finished(child, `library (${method})`);
      const reports: LibraryReport[] = [];
      const waiting: ((report: LibraryReport) => void)[] = [];
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let parsed: LibraryReport;
        try {
          parsed = JSON.parse(line) as LibraryReport;
        } catch {
          return;
        }
        reports.push(parsed);
        for (const wake of waiting.splice(0)) wake(parsed);
      });
      const next = (type: LibraryReport['type']): Promise<LibraryReport> =>
        new Promise((resolve, reject) => {
          const found = reports.find((r) => r.type === type);
          if (found) return resolve(found);
          const listen = (report: LibraryReport): void => {
            if (report.type === type) resolve(report);
            else waiting.push(listen);
          };
          waiting.push(listen);
          done.then(() => reject(new Error(`the library's process ended without a "${type}" report`)), reject);
        });

      const ready = await next('ready');
      const migrated = await next('migrated');
      if (migrated.type !== 'migrated') throw new Error('unexpected report');
      if (migrated.error !== null) {
        child.stdin?.end();
        await done.catch(() => undefined);
        throw new Error(`migrate() ended ${migrated.status}: ${migrated.error}`);
      }
      let stopSeconds: number | undefined;
      try {
        await reached();
      } finally {
        child.stdin?.end('stop\n');
        if (method === 'replication') {
          const stopped = await next('stopped');
          if (stopped.type === 'stopped') {
            if (stopped.error !== null) throw new Error(`stop() failed: ${stopped.error}`);
            stopSeconds = stopped.seconds;
          }
        }
        await done;
      }
      return {
        seconds: migrated.seconds,
        // The peak up to `done`/`syncing`: the copy's, not stop()'s.
        maxRssKb: migrated.maxRssKb,
        cpuSeconds: migrated.cpuSeconds,
        ...(ready.type === 'ready' ? { baselineRssKb: ready.rssKb } : {}),
        ...(stopSeconds !== undefined ? { stopSeconds } : {}),
      };
    },
  };
}

export const libraryDump = libraryTool('dump');
export const libraryReplication = libraryTool('replication');
