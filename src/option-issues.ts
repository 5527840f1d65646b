/**
 * Reading options that come from plain JavaScript: any value at all, read
 * without ever throwing (a getter or a Proxy may), every problem collected
 * with the path of the field it concerns, then reported as one `options`
 * error whose message names the first field and whose `reasons` list all.
 *
 * @module
 */
import { migrationError, type MigrationError } from './errors.js';
import { closestName } from './util/did-you-mean.js';

/** A problem with one option. */
export interface OptionIssue {
  /** `options.databases[1] must be a string, got number` */
  readonly message: string;
  readonly hint?: string | undefined;
  readonly side?: 'source' | 'target' | undefined;
}

/** Stands for a property whose reading threw; its issue is already recorded. */
export const UNREADABLE: unique symbol = Symbol('unreadable');

/** Enough problems to fix in one go; past this a hostile input could make the list endless. */
const MAX_ISSUES = 20;

export class OptionIssues {
  readonly #issues: OptionIssue[] = [];

  add(message: string, hint?: string, side?: 'source' | 'target'): void {
    if (this.#issues.length < MAX_ISSUES) this.#issues.push({ message, hint, side });
  }

  get count(): number {
    return this.#issues.length;
  }

  get full(): boolean {
    return this.#issues.length >= MAX_ISSUES;
  }

  /** One `options` error for everything found, or `undefined` when nothing was. */
  toError(): MigrationError | undefined {
    const [first, ...rest] = this.#issues;
    if (!first) return undefined;
    const message = rest.length === 0 ? first.message : `${first.message} (and ${rest.length} more: see reasons)`;
    return migrationError('options', message, {
      hint: first.hint,
      side: first.side,
      reasons: rest.length === 0 ? undefined : this.#issues.map((issue) => issue.message),
    });
  }
}

/** How a value is named in a message: its type only, never its content (it may be a secret). */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (isArray(value) === true) return 'array';
  return typeof value;
}

/** `Array.isArray`, except that a revoked Proxy answers `'unreadable'` instead of throwing. */
export function isArray(value: unknown): boolean | 'unreadable' {
  try {
    return Array.isArray(value);
  } catch {
    return 'unreadable';
  }
}

/** A non-null, non-array object whose properties can be read by name. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && isArray(value) === false;
}

/** Reads `object[key]` once; a throwing getter or Proxy trap becomes an issue and {@link UNREADABLE}. */
export function readProperty(object: object, key: string | number, path: string, issues: OptionIssues, side?: 'source' | 'target'): unknown {
  try {
    return (object as Record<string | number, unknown>)[key];
  } catch {
    issues.add(`${path} could not be read: reading it threw`, 'Pass plain data (no getters that throw).', side);
    return UNREADABLE;
  }
}

/**
 * Reports every own key of `object` that is not in `known`, suggesting the
 * closest known key (or an alias's meaning) for a likely typo.
 */
export function checkKeys(
  object: object,
  known: readonly string[],
  path: string,
  what: string,
  issues: OptionIssues,
  aliases: Readonly<Record<string, string>> = {},
  side?: 'source' | 'target',
): void {
  let keys: string[];
  try {
    keys = Object.keys(object);
  } catch {
    issues.add(`${path} could not be read: listing its keys threw`, 'Pass plain data (no Proxy that throws).', side);
    return;
  }
  for (const key of keys) {
    if (issues.full) return;
    if (known.includes(key)) continue;
    const suggestion = Object.hasOwn(aliases, key) ? aliases[key] : closestName(key, known);
    issues.add(
      `${path}.${key} is not ${what}${suggestion ? `; did you mean ${suggestion}?` : ''}`,
      `Known: ${known.join(', ')}.`,
      side,
    );
  }
}
