/**
 * A fixed number of slots that every copy of a run draws from: tables of all
 * databases share them, so `jobs` bounds the whole run, however many
 * databases move at once. Work waits for a slot in the order it asked.
 */
export class Budget {
  readonly size: number;
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.size = Math.max(1, Math.floor(size));
    this.#free = this.size;
  }

  /** Runs `work` holding one slot, and frees it however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free += 1;
    }
  }
}
