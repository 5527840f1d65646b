/**
 * The CLI's commands, in the order `--help` lists them.
 *
 * @module
 */
import type { CliCommand } from '../command.js';
import { migrateCommand } from './migrate.js';
import { preflightCommand } from './preflight.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';
import { verifyCommand } from './verify.js';
import { cutoverCommand } from './cutover.js';

export const COMMANDS: readonly CliCommand[] = [preflightCommand, migrateCommand, statusCommand, verifyCommand, cutoverCommand, stopCommand];
