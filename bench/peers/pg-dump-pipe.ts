/** `pg_dump -Fc | pg_restore`: one process each, through a pipe. */
import { toolUri } from '../clusters.js';
import { PG_BIN, runPipe } from '../processes.js';
import { secondsSince, type Tool } from './tool.js';

export const pgDumpPipe: Tool = {
  name: 'pg_dump-pipe',
  label: 'pg_dump -Fc | pg_restore',
  unavailable: () => undefined,
  async run({ source, target, database, env, reached }) {
    const start = process.hrtime.bigint();
    await target.exec(`create database ${database}`);
    await runPipe(
      { file: `${PG_BIN}/pg_dump`, args: ['-Fc', '-d', toolUri(source, database)] },
      { file: `${PG_BIN}/pg_restore`, args: ['--exit-on-error', '-d', toolUri(target, database)] },
      env,
    );
    const seconds = secondsSince(start);
    await reached();
    return { seconds };
  },
};
