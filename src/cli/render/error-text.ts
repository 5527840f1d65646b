/**
 * A library error as text for stderr: what went wrong, what to do, and
 * the reasons of a failed preflight. The library redacts every field.
 *
 * @module
 */
import type { MigrationError } from '../../index.js';

export function renderError(error: MigrationError): string {
  const lines = [`error (${error.kind}): ${error.message}`];
  for (const reason of error.reasons ?? []) lines.push(`  - ${reason}`);
  if (error.cause && !error.message.includes(error.cause.message)) lines.push(`  cause: ${error.cause.message}`);
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  return lines.join('\n');
}
