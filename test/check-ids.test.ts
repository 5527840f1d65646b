import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { CHECK_IDS, METHODS, type CheckId, type CheckResult, type MethodOption } from '../src/index.js';
import { normalizeOptions } from '../src/options.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every `id: '…'` literal the check modules can report. */
function idsInChecks(): Set<string> {
  const dir = join(root, 'src', 'preflight', 'checks');
  const ids = new Set<string>();
  for (const file of readdirSync(dir)) {
    for (const match of readFileSync(join(dir, file), 'utf8').matchAll(/\bid: '([a-z-]+)'/g)) ids.add(match[1]!);
  }
  return ids;
}

describe('check ids and methods for callers to validate against', () => {
  it('lists every id a check can report, each once, and no other', () => {
    expect(new Set(CHECK_IDS).size).toBe(CHECK_IDS.length);
    expect([...idsInChecks()].sort()).toEqual([...CHECK_IDS].sort());
  });

  it('types a check result by its id, so a misspelt id does not compile', () => {
    expectTypeOf<CheckResult['id']>().toEqualTypeOf<CheckId>();
    expectTypeOf<'wal-level'>().toExtend<CheckId>();
    expectTypeOf<'wal_level'>().not.toExtend<CheckId>();
  });

  it('documents every check id in the preflight checks reference', () => {
    const table = readFileSync(join(root, 'docs', 'preflight-checks.md'), 'utf8');
    const documented = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual([...CHECK_IDS].sort());
  });

  it('lists exactly the methods the method option accepts', () => {
    expectTypeOf(METHODS).toEqualTypeOf<readonly MethodOption[]>();
    const connections = { source: 'postgres://u:pw@old.example/postgres', target: 'postgres://u:pw@new.example/postgres' };
    for (const method of METHODS) expect(normalizeOptions({ ...connections, method }).isOk(), method).toBe(true);
    const wrong = normalizeOptions({ ...connections, method: 'logical' });
    expect(wrong._unsafeUnwrapErr()).toMatchObject({ kind: 'options' });
    expect(METHODS).toEqual(['auto', 'replication', 'dump']);
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(CHECK_IDS)).toBe(true);
    expect(Object.isFrozen(METHODS)).toBe(true);
    expect(() => (METHODS as MethodOption[]).push('auto')).toThrow(TypeError);
  });
});
