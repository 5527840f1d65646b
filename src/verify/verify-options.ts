/**
 * The options of verify(), read from whatever a plain JavaScript caller
 * passes, never throwing: a problem is an `options` error naming the field.
 *
 * @module
 */
import { err, ok, type Result } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import { checkKeys, isRecord, kindOf, OptionIssues, readProperty, UNREADABLE } from '../option-issues.js';
import type { VerifySettings } from './database-verify.js';
import type { VerifyOptions } from './report.js';

const KEYS: readonly (keyof VerifyOptions)[] = ['catchUpTimeoutMs', 'rangeRows'];
const DEFAULTS: VerifySettings = { catchUpTimeoutMs: 60_000, rangeRows: 1_000_000 };
/** Node's timers fire at once for a longer delay. */
const MAX_TIMER_MS = 2_147_483_647;

export function readVerifyOptions(input: unknown): Result<VerifySettings, MigrationError> {
  if (input === undefined) return ok(DEFAULTS);
  const issues = new OptionIssues();
  if (!isRecord(input)) {
    issues.add(`verify() options must be an object, got ${kindOf(input)}`, 'Pass { catchUpTimeoutMs, rangeRows }, or nothing.');
    return err(issues.toError()!);
  }
  checkKeys(input, KEYS, 'verify() options', 'an option of verify()', issues);
  const catchUpTimeoutMs = readProperty(input, 'catchUpTimeoutMs', 'verify() options.catchUpTimeoutMs', issues);
  const rangeRows = readProperty(input, 'rangeRows', 'verify() options.rangeRows', issues);
  const settings: { -readonly [K in keyof VerifySettings]: VerifySettings[K] } = { ...DEFAULTS };
  if (catchUpTimeoutMs !== undefined && catchUpTimeoutMs !== UNREADABLE) {
    if (typeof catchUpTimeoutMs === 'number' && Number.isFinite(catchUpTimeoutMs) && catchUpTimeoutMs >= 0 && catchUpTimeoutMs <= MAX_TIMER_MS) {
      settings.catchUpTimeoutMs = catchUpTimeoutMs;
    } else {
      issues.add(
        `verify() options.catchUpTimeoutMs must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${typeof catchUpTimeoutMs === 'number' ? String(catchUpTimeoutMs) : kindOf(catchUpTimeoutMs)}`,
        'Leave it out for 60000 (one minute).',
      );
    }
  }
  if (rangeRows !== undefined && rangeRows !== UNREADABLE) {
    if (typeof rangeRows === 'number' && Number.isSafeInteger(rangeRows) && rangeRows > 0) {
      settings.rangeRows = rangeRows;
    } else {
      issues.add(
        `verify() options.rangeRows must be a positive integer, got ${typeof rangeRows === 'number' ? String(rangeRows) : kindOf(rangeRows)}`,
        'Leave it out for 1000000.',
      );
    }
  }
  const error = issues.toError();
  return error ? err(error) : ok(settings);
}
