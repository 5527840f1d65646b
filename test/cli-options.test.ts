import { describe, expect, it } from 'vitest';
import { resolveConnection } from '../src/cli/connection-env.js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { planOutput, type OutputWishes } from '../src/cli/output-plan.js';
import { renderTable } from '../src/cli/render/table.js';

/** How the CLI reads its clusters from the environment and chooses its output, without a cluster. */
describe('the CLI: where the clusters come from', () => {
  it('prefers the flag, then SOURCE_SERVICE_URI, then the SRC_* fields', () => {
    const env = { SOURCE_SERVICE_URI: 'postgres://env@a/db', SRC_HOSTNAME: 'fields' };
    expect(resolveConnection('source', 'postgres://flag@a/db', env)._unsafeUnwrap()).toBe('postgres://flag@a/db');
    expect(resolveConnection('source', undefined, env)._unsafeUnwrap()).toBe('postgres://env@a/db');
    expect(resolveConnection('source', undefined, { SRC_HOSTNAME: 'fields' })._unsafeUnwrap()).toEqual({ host: 'fields' });
  });

  it("maps the migration guide's DEST_* fields to connection fields, leaving out those not set", () => {
    const env = { DEST_HOSTNAME: 'new.example.com', DEST_PORT: '6543', DEST_USERNAME: 'avnadmin', DEST_PASSWORD: 's3cret', DEST_SSL: 'true', DEST_DATABASE: '' };
    expect(resolveConnection('target', undefined, env)._unsafeUnwrap()).toEqual({
      host: 'new.example.com',
      port: '6543',
      username: 'avnadmin',
      password: 's3cret',
      ssl: 'true',
    });
  });

  it('fills in the password of a URI written without one, and keeps one written in it', () => {
    const filled = resolveConnection('source', 'postgres://admin@old.example.com:5432/postgres?sslmode=require', { SRC_PASSWORD: 'p@ss:w/rd%' });
    expect(filled._unsafeUnwrap()).toBe('postgres://admin:p%40ss%3Aw%2Frd%25@old.example.com:5432/postgres?sslmode=require');
    const kept = resolveConnection('source', 'postgres://admin:given@old/postgres', { SRC_PASSWORD: 'other' });
    expect(kept._unsafeUnwrap()).toBe('postgres://admin:given@old/postgres');
  });

  it('names the variables to set when a side is missing, or has fields but no host', () => {
    const none = resolveConnection('target', undefined, {})._unsafeUnwrapErr();
    expect(none).toMatchObject({ kind: 'options', side: 'target', message: 'No destination cluster given' });
    expect(none.hint).toContain('TARGET_SERVICE_URI');
    const hostless = resolveConnection('source', undefined, { SRC_PORT: '5432', SRC_PASSWORD: 'x' })._unsafeUnwrapErr();
    expect(hostless.message).toBe('SRC_HOSTNAME is required with SRC_PORT, SRC_PASSWORD');
    expect(exitCodeFor(hostless.kind)).toBe(2);
  });
});

describe('the CLI: where its output goes', () => {
  const wishes = (overrides: Partial<OutputWishes>): OutputWishes => ({
    json: false,
    logFormat: undefined,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    reportsProgress: true,
    ...overrides,
  });

  it('draws bars on a terminal and prints the result as text', () => {
    expect(planOutput(wishes({ stdoutIsTTY: true, stderrIsTTY: true }))).toEqual({ result: 'text', compact: false, events: { stream: 'stderr', format: 'bars' } });
  });

  it('writes JSON lines to a pipe, the result last', () => {
    expect(planOutput(wishes({}))).toEqual({ result: 'json', compact: true, events: { stream: 'stdout', format: 'json' } });
    expect(planOutput(wishes({ stdoutIsTTY: true, stderrIsTTY: true, logFormat: 'json' }))).toEqual({ result: 'json', compact: true, events: { stream: 'stdout', format: 'json' } });
  });

  it('keeps stdout one JSON document with --json, progress going to stderr', () => {
    expect(planOutput(wishes({ json: true }))).toEqual({ result: 'json', compact: false, events: { stream: 'stderr', format: 'text' } });
    expect(planOutput(wishes({ json: true, stdoutIsTTY: true, stderrIsTTY: true }))).toEqual({ result: 'json', compact: false, events: { stream: 'stderr', format: 'bars' } });
    expect(planOutput(wishes({ json: true, logFormat: 'json' }))).toEqual({ result: 'json', compact: false, events: { stream: 'stderr', format: 'json' } });
  });

  it('prints the table of a command without progress (status) to a pipe too', () => {
    expect(planOutput(wishes({ reportsProgress: false }))).toEqual({ result: 'text', compact: false, events: { stream: 'stderr', format: 'none' } });
  });
});

describe("the CLI: the service CLI's tables", () => {
  it("lays out the migration guide's status table", () => {
    expect(renderTable(['STATUS', 'METHOD', 'ERROR'], [['done', '', 'null']])).toBe('STATUS  METHOD  ERROR\n======  ======  =====\ndone            null');
  });

  it('keeps a multi-line error on its row', () => {
    expect(renderTable(['DBNAME', 'ERROR'], [['shop', 'first line\n  second line']])).toBe('DBNAME  ERROR\n======  =====\nshop    first line second line');
  });
});
