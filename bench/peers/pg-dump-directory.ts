/** `pg_dump -Fd -jN` into a directory, then `pg_restore -jN` from it. */
import { join } from 'node:path';
import { toolUri } from '../clusters.js';
import { PG_BIN, runTool } from '../processes.js';
import { secondsSince, type Tool } from './tool.js';

export const pgDumpDirectory: Tool = {
  name: 'pg_dump-dir',
  label: 'pg_dump -Fd -jN + pg_restore -jN',
  unavailable: () => undefined,
  async run({ source, target, database, jobs, env, workDir, reached }) {
    const dir = join(workDir, 'dump');
    const start = process.hrtime.bigint();
    await target.exec(`create database ${database}`);
    await runTool(`${PG_BIN}/pg_dump`, ['-Fd', `-j${jobs}`, '-f', dir, '-d', toolUri(source, database)], env);
    await runTool(`${PG_BIN}/pg_restore`, ['--exit-on-error', `-j${jobs}`, '-d', toolUri(target, database), dir], env);
    const seconds = secondsSince(start);
    await reached();
    return { seconds };
  },
};
