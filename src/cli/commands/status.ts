import { toServiceResponse } from '../../index.js';
import type { CliCommand } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { renderStatus } from '../render/status-table.js';

/** `status`: the migration's status, as the service reports it. */
export const statusCommand: CliCommand = {
  name: 'status',
  description: "print the migration's status (--json: the service's response)",
  reportsProgress: false,
  configure(command) {
    command.addHelpText('after', "\nWorks from any machine that reaches both clusters. Exit code 1 when the migration's status is failed.");
  },
  run: ({ migrator, signal }) =>
    migrator.status({ signal }).map((status) => ({
      exitCode: status.status === 'failed' ? ExitCode.failed : ExitCode.ok,
      json: toServiceResponse(status),
      text: renderStatus(status),
    })),
};
