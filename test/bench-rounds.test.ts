/**
 * The bench's `--rounds`: which of a tool's runs stands for it; and which major it migrates to.
 */
import { describe, expect, it } from 'vitest';
import { bestOf, type RunResult } from '../bench/run-workload.js';
import { parseBenchOptions } from '../bench/options.js';

const run = (status: RunResult['status'], seconds?: number): RunResult => ({
  tool: 'us-dump',
  status,
  ...(seconds !== undefined ? { seconds } : {}),
  problems: status === 'incomplete' ? ['table t: 9 rows, expected 10'] : [],
  leftovers: [],
});

describe('a tool run in several rounds', () => {
  it('is reported by its fastest complete round, with every round kept', () => {
    const best = bestOf([run('ok', 9.5), run('ok', 8.1), run('ok', 8.7)]);
    expect(best.seconds).toBe(8.1);
    expect(best.roundSeconds).toEqual([9.5, 8.1, 8.7]);
  });

  it('is reported as failed or incomplete when any round was, however fast the others', () => {
    expect(bestOf([run('ok', 5), run('incomplete', 4)]).status).toBe('incomplete');
    expect(bestOf([run('failed'), run('ok', 3)]).status).toBe('failed');
    expect(bestOf([run('ok', 3), run('failed')]).roundSeconds).toEqual([3, null]);
  });

  it('is its one run, unchanged, when there was one round', () => {
    const only = run('ok', 7);
    expect(bestOf([only])).toBe(only);
  });
});

describe("the bench's destination major", () => {
  it('is 15 unless asked, 16 or 17 when asked, and anything else is refused with the usage', () => {
    expect(parseBenchOptions([], {}).targetMajor).toBe(15);
    expect(parseBenchOptions(['--target-major', '16'], {}).targetMajor).toBe(16);
    expect(parseBenchOptions([], { BENCH_TARGET_MAJOR: '17' }).targetMajor).toBe(17);
    expect(() => parseBenchOptions(['--target-major', '14'], {})).toThrow(/--target-major must be one of 15, 16, 17, got "14"/);
  });
});
