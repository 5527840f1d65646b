import { describe, expect, it } from 'vitest';
import { Budget } from '../src/util/budget.js';

describe('a budget of copy slots', () => {
  it('never runs more work at once than it has slots, and runs it all', async () => {
    const budget = new Budget(2);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        budget.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running -= 1;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('frees the slot of work that fails', async () => {
    const budget = new Budget(1);
    await expect(budget.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await budget.run(async () => 'next')).toBe('next');
  });
});
