/**
 * Bundles of small tables read off the source while the destination's
 * pre-data schema restores, to be written there once its tables exist.
 *
 * The restore is one query on one destination session: for its duration
 * the source and this process have nothing to do, on a machine where, once
 * the copy starts, they take a third of the CPU the copy of small tables
 * needs. On "tiny" (2,000 tables of 100 rows) the restore takes 0.5 s, about
 * the time the source takes to read the whole database.
 *
 * What is read ahead follows a plan made before the destination's tables
 * could be seen (they are assumed to be the source's, as the restore makes
 * them), and a bundle is used only by a worker whose own bundle, from the
 * real plan, reads exactly the same tables by exactly the same statements:
 * under one snapshot, the same bytes. Anything else is read again, live.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { readBundle, type ReadBundle } from './bundle-relay.js';

/**
 * At most this many bytes of rows held at once by every read ahead of the
 * process, however many databases and runs copy at once. 2,000 tables of
 * 100 rows come to 8 MB as COPY text.
 */
export const READ_AHEAD_BYTES = 32 * 1024 * 1024;

/** Bytes every read ahead of the process holds. */
let heldInProcess = 0;

/** Bytes of rows the process holds read ahead, not yet written. */
export function heldByReadAheads(): number {
  return heldInProcess;
}

export class ReadAhead {
  readonly #bundles = new Map<string, ReadBundle>();
  /** Settles once no more is read: every bundle read, the bytes all held, a failure, or a stop. */
  readonly finished: Promise<void>;
  #stopping = false;
  #failure: { error: unknown } | undefined;

  /**
   * Starts reading `bundles` (each a bundle's read statements), in order, on
   * the session of `source`, while the process holds less than `maxBytes`.
   */
  constructor(source: Socket, bundles: readonly (readonly string[])[], maxBytes: number = READ_AHEAD_BYTES) {
    this.finished = this.#read(source, bundles, maxBytes);
  }

  async #read(source: Socket, bundles: readonly (readonly string[])[], maxBytes: number): Promise<void> {
    for (const reads of bundles) {
      if (this.#stopping || heldInProcess >= maxBytes) return;
      try {
        const bundle = await readBundle(source, reads.map((read) => ({ read })));
        this.#bundles.set(keyOf(reads), bundle);
        heldInProcess += bundle.size;
      } catch (error) {
        this.#failure = { error };
        return;
      }
    }
  }

  /**
   * Reads no further bundle and waits for the one being read, so the session
   * is free for its worker. Rejects with a failure of the source, as the
   * copy of those tables would have failed.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.finished;
    if (this.#failure) throw this.#failure.error;
  }

  /** The bundle read by `reads`, once, if it was read ahead. */
  take(reads: readonly string[]): ReadBundle | undefined {
    const key = keyOf(reads);
    const bundle = this.#bundles.get(key);
    if (!bundle) return undefined;
    this.#bundles.delete(key);
    heldInProcess -= bundle.size;
    return bundle;
  }

  /** Lets go of every bundle no worker took. */
  clear(): void {
    for (const bundle of this.#bundles.values()) heldInProcess -= bundle.size;
    this.#bundles.clear();
  }
}

function keyOf(reads: readonly string[]): string {
  return reads.join('\0');
}
