import { describe, expect, it } from 'vitest';
import { CopyOutParser } from '../src/copy/copy-tap.js';

/**
 * The byte stream a server sends for one COPY TO, split into what postgres.js
 * must still see and the rows taken past it, however the socket's reads cut
 * the messages. The messages are built as the protocol spells them.
 */
function message(type: string, body: Buffer | string): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

const replies = [message('1', ''), message('2', ''), message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0]))];
const rows = Array.from({ length: 40 }, (_, i) => Buffer.from(`${i}\t${'x'.repeat(i % 7 === 0 ? 300 : i)}\n`));
const notice = message('N', 'SNOTICE\0Mhalf way\0\0');
const ending = [message('c', ''), message('C', 'COPY 40\0'), message('Z', 'I')];

/** Feeds `stream` cut at `cuts`, each read a fresh buffer as a socket's are. */
function run(stream: Buffer, cuts: readonly number[]): { passed: Buffer; taken: Buffer; rows: number; state: string } {
  const passed: Buffer[] = [];
  const taken: Buffer[] = [];
  let count = 0;
  const parser = new CopyOutParser(
    (bytes) => passed.push(Buffer.from(bytes)),
    (payload) => taken.push(Buffer.from(payload)),
    () => count++,
  );
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    parser.feed(Buffer.from(stream.subarray(from, cut)));
    from = cut;
  }
  return { passed: Buffer.concat(passed), taken: Buffer.concat(taken), rows: count, state: parser.state };
}

describe('taking a COPY TO\'s rows off the wire', () => {
  const withNotice = [...rows.slice(0, 20).map((r) => message('d', r)), notice, ...rows.slice(20).map((r) => message('d', r))];
  const stream = Buffer.concat([...replies, ...withNotice, ...ending]);
  const expectedPassed = Buffer.concat([...replies, notice, ...ending]);
  const expectedRows = Buffer.concat(rows);

  it('passes every reply but the rows to postgres.js, and takes the rows in order, wherever one read ends', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const seen = run(stream, [cut]);
      expect(seen.taken.equals(expectedRows), `cut at ${cut}`).toBe(true);
      expect(seen.passed.equals(expectedPassed), `cut at ${cut}`).toBe(true);
      expect(seen.rows).toBe(40);
      expect(seen.state).toBe('done');
    }
  });

  it('does the same when the reads are a few bytes each, headers cut anywhere', () => {
    for (const step of [1, 2, 3, 4, 5, 6, 7, 11, 64]) {
      const cuts = Array.from({ length: Math.ceil(stream.length / step) - 1 }, (_, i) => (i + 1) * step);
      const seen = run(stream, cuts);
      expect(seen.taken.equals(expectedRows), `reads of ${step} bytes`).toBe(true);
      expect(seen.passed.equals(expectedPassed), `reads of ${step} bytes`).toBe(true);
    }
  });

  it('gives postgres.js the error that ends the rows, and everything after it, and reads as failed', () => {
    const error = message('E', 'SERROR\0C22012\0Mdivision by zero\0\0');
    const failing = Buffer.concat([...replies, ...rows.slice(0, 10).map((r) => message('d', r)), error, message('Z', 'I')]);
    for (let cut = 1; cut < failing.length; cut += 3) {
      const seen = run(failing, [cut]);
      expect(seen.state).toBe('failed');
      expect(seen.taken.equals(Buffer.concat(rows.slice(0, 10)))).toBe(true);
      expect(seen.passed.equals(Buffer.concat([...replies, error, message('Z', 'I')]))).toBe(true);
    }
  });

  it('passes a COPY that fails before its first row through whole', () => {
    const refused = Buffer.concat([message('E', 'SERROR\0Mpermission denied\0\0'), message('Z', 'I')]);
    const seen = run(refused, [3]);
    expect(seen).toMatchObject({ state: 'failed', rows: 0 });
    expect(seen.passed.equals(refused)).toBe(true);
  });
});
