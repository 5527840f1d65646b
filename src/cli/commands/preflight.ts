import type { PreflightReport } from '../../index.js';
import type { CliCommand, CommandOutcome } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { renderPreflight } from '../render/preflight-text.js';

/** `preflight`: checks both clusters and plans every database, changing nothing. */
export const preflightCommand: CliCommand = {
  name: 'preflight',
  description: 'check both clusters and plan every database, changing nothing',
  reportsProgress: false,
  configure(command) {
    command.addHelpText('after', '\nExit code 0 when no check fails, 1 when one does (the report says what to fix).');
  },
  run: ({ migrator, signal }) => migrator.preflight({ signal }).map(preflightOutcome),
};

export function preflightOutcome(report: PreflightReport): CommandOutcome {
  return { exitCode: report.ok ? ExitCode.ok : ExitCode.failed, json: report, text: renderPreflight(report) };
}
