/**
 * The cluster-level connection of each side, opened once and shared by
 * concurrent callers. A failed opening is forgotten so a later call retries.
 *
 * @module
 */
import { ResultAsync, type Result } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import type { NormalizedOptions } from '../options.js';
import { closeConnection, openConnection, type Connection, type Side } from '../pg/connect.js';
import type { Redactor } from '../redact.js';

export class ClusterConnections {
  readonly #options: NormalizedOptions;
  readonly #redactor: Redactor;
  readonly #openings: Partial<Record<Side, Promise<Result<Connection, MigrationError>>>> = {};

  constructor(options: NormalizedOptions, redactor: Redactor) {
    this.#options = options;
    this.#redactor = redactor;
  }

  /** The side's connection to the database its options name. */
  of(side: Side): ResultAsync<Connection, MigrationError> {
    const config = this.#options[side];
    const opening =
      this.#openings[side] ??
      Promise.resolve(openConnection(config, side, config.database, this.#redactor, { max: 3 })).then((result) => {
        if (result.isErr()) delete this.#openings[side];
        return result;
      });
    this.#openings[side] = opening;
    return new ResultAsync(opening);
  }

  /** Closes both sides; a later {@link of} opens them again. */
  async closeAll(): Promise<void> {
    const pending = Object.values(this.#openings);
    for (const side of Object.keys(this.#openings) as Side[]) delete this.#openings[side];
    await Promise.all(pending.map((p) => p.then((result) => (result.isOk() ? closeConnection(result.value) : undefined))));
  }
}
