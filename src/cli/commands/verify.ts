import type { VerifyReport } from '../../index.js';
import type { CliCommand } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { renderTable } from '../render/table.js';
import { duration } from './duration.js';

/** `verify`: proves every row is on the destination. */
export const verifyCommand: CliCommand = {
  name: 'verify',
  description: 'compare every table, sequence and large object on both clusters (read-only)',
  reportsProgress: true,
  configure(command) {
    command.option('--catch-up-timeout <duration>', 'how long to wait for a replica to catch up before comparing: 90, 90s, 5m (default 60s)', duration);
    command.addHelpText('after', '\nExit code 0 when every database is equal (expected differences of a running replication allowed), 1 otherwise.');
  },
  run({ migrator, signal, options }) {
    const catchUpTimeoutMs = options['catchUpTimeout'] as number | undefined;
    return migrator.verify({ signal, ...(catchUpTimeoutMs !== undefined && { catchUpTimeoutMs }) }).map((report) => ({
      exitCode: report.ok ? ExitCode.ok : ExitCode.failed,
      json: report,
      text: renderVerify(report),
    }));
  },
};

function renderVerify(report: VerifyReport): string {
  const databases = renderTable(
    ['DBNAME', 'VERDICT', 'TABLES', 'DIFFERENCES', 'REASON'],
    report.databases.map((db) => [
      db.dbname,
      db.status,
      String(db.tables.length),
      String(db.differences.filter((d) => !d.expected).length),
      db.reason ?? '',
    ]),
  );
  const differences = report.databases.flatMap((db) =>
    db.differences.map((d) => [db.dbname, d.kind, d.object, d.expected ? 'expected' : '', d.detail]),
  );
  return differences.length === 0 ? databases : `${databases}\n\n${renderTable(['DBNAME', 'KIND', 'OBJECT', '', 'DETAIL'], differences)}`;
}
