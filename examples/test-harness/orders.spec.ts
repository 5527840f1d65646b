/** A test as a project would write it: its own database, with the seed's rows, free to change. */
import postgres from 'postgres';
import { afterAll, expect, inject, it } from 'vitest';

const sql = postgres(inject('databaseUri'), { max: 1, onnotice: () => undefined });
afterAll(() => sql.end({ timeout: 5 }));

it('starts from the seed', async () => {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from customers`;
  expect(row?.n).toBeGreaterThan(0);
});

it('may write without touching the seed or another run', async () => {
  await sql`delete from orders`;
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from orders`;
  expect(row?.n).toBe(0);
});
