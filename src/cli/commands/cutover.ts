import { toServiceResponse } from '../../index.js';
import type { CliCommand } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { renderStatus } from '../render/status-table.js';
import { duration } from './duration.js';

/** `cutover`: switches the replicated databases over to the destination. */
export const cutoverCommand: CliCommand = {
  name: 'cutover',
  description: 'switch over: optionally make the source read-only, wait for zero lag, sync sequences and large objects, verify, stop replication',
  reportsProgress: true,
  configure(command) {
    command
      .option('--read-only-source', 'make each source database read-only for new sessions first (restored if its cutover fails)')
      .option('--no-verify', 'skip the comparison of every table before stopping')
      .option('--timeout <duration>', 'how long to wait for each replica to catch up: 90, 90s, 5m, 1h (default 5m)', duration);
    command.addHelpText('after', '\nA failure leaves that database replicating and its source writable: exit code 5 (not caught up) or 1 (a difference).');
  },
  run({ migrator, signal, options }) {
    const timeoutMs = options['timeout'] as number | undefined;
    return migrator
      .cutover({ signal, readOnlySource: options['readOnlySource'] === true, verify: options['verify'] !== false, ...(timeoutMs !== undefined && { timeoutMs }) })
      .map((status) => ({
        exitCode: status.databases.every((d) => d.status === 'done') ? ExitCode.ok : ExitCode.failed,
        json: toServiceResponse(status),
        text: renderStatus(status),
      }));
  },
};
