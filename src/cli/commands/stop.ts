import { toServiceResponse } from '../../index.js';
import type { CliCommand } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { renderStatus } from '../render/status-table.js';
import { duration } from './duration.js';

/** `stop`: ends the migration and removes its replication objects from both clusters. */
export const stopCommand: CliCommand = {
  name: 'stop',
  description: 'end the migration: wait for replicas to catch up, then remove the replication objects on both clusters',
  reportsProgress: true,
  configure(command) {
    command
      .option('--force', 'stop even when a database is not done/syncing or has not caught up (it then ends failed, never done)')
      .option('--timeout <duration>', 'how long to wait for each replica to catch up: 90, 90s, 5m, 1h (default 5m)', duration);
    command.addHelpText('after', '\nRefuses (exit code 5) unless every dump is done and every replication syncing; --force overrides.');
  },
  run({ migrator, signal, options }) {
    const timeoutMs = options['timeout'] as number | undefined;
    return migrator
      .stop({ signal, force: options['force'] === true, ...(timeoutMs !== undefined && { timeoutMs }) })
      .map((status) => ({
        exitCode: status.databases.every((d) => d.status === 'done') ? ExitCode.ok : ExitCode.failed,
        json: toServiceResponse(status),
        text: renderStatus(status),
      }))
      .mapErr((error) => (error.kind === 'unsafe-stop' ? { ...error, hint: `${error.hint ?? ''} Here: stop --force.`.trim() } : error));
  },
};
