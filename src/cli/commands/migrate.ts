import { toServiceResponse, type MigrationStatus } from '../../index.js';
import type { CliCommand, CommandOutcome } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { DatabaseTally } from '../progress/tally.js';
import { renderStatus } from '../render/status-table.js';
import { preflightOutcome } from './preflight.js';

/** `migrate`: moves every selected database; `--dry-run` only checks and prints the plan. */
export const migrateCommand: CliCommand = {
  name: 'migrate',
  description: 'migrate every selected database (roles and schema first, then replication or dump and restore)',
  reportsProgress: true,
  configure(command) {
    command.option('--dry-run', 'run the preflight and print the plan, changing nothing');
    command.addHelpText(
      'after',
      [
        '',
        'Returns once every dump is done and every replication is syncing; replication then',
        'keeps the destination following the source until `stop`. Running it again never copies',
        'a database twice. Ctrl-C cancels and removes what the run left unfinished.',
      ].join('\n'),
    );
  },
  run({ migrator, signal, options }) {
    if (options['dryRun'] === true) {
      return migrator.preflight({ signal }).map((report) => {
        const outcome = preflightOutcome(report);
        return { ...outcome, text: `${outcome.text}\nDry run: nothing was changed.` };
      });
    }
    const tally = new DatabaseTally(migrator);
    return migrator.migrate({ signal }).map((status) => migrateOutcome(status, tally));
  },
};

function migrateOutcome(status: MigrationStatus, tally: DatabaseTally): CommandOutcome {
  const arrived = status.databases.every((d) => d.status === 'done' || d.status === 'syncing');
  return {
    exitCode: arrived ? ExitCode.ok : ExitCode.failed,
    json: toServiceResponse(status),
    text: renderStatus(status, { headers: ['ROWS', 'SIZE', 'TIME'], cells: (dbname) => tally.cells(dbname) }),
  };
}
