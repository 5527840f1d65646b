/** `pgcopydb clone` with N table jobs and N index jobs, when pgcopydb is installed. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { toolUri } from '../clusters.js';
import { runTool } from '../processes.js';
import { secondsSince, type Tool } from './tool.js';

export const pgcopydb: Tool = {
  name: 'pgcopydb',
  label: 'pgcopydb clone (N table jobs, N index jobs)',
  unavailable: () => (spawnSync('pgcopydb', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'not installed (Debian package pgcopydb)'),
  async run({ source, target, database, jobs, env, workDir, reached }) {
    const start = process.hrtime.bigint();
    await target.exec(`create database ${database}`);
    await runTool(
      'pgcopydb',
      ['clone', '--source', toolUri(source, database), '--target', toolUri(target, database), '--table-jobs', String(jobs), '--index-jobs', String(jobs), '--dir', join(workDir, 'pgcopydb')],
      env,
    );
    const seconds = secondsSince(start);
    await reached();
    return { seconds };
  },
};
