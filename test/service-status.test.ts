import { describe, expect, it } from 'vitest';
import { toServiceResponse, type DatabaseStatus } from '../src/index.js';
import { summarize } from '../src/status.js';

const db = (dbname: string, method: DatabaseStatus['method'], status: DatabaseStatus['status'], error: string | null = null): DatabaseStatus => ({
  dbname,
  method,
  status,
  error,
  fallbackReasons: [],
  startedAt: null,
  updatedAt: null,
});

describe('the service status shape', () => {
  it('renders the migration guide example exactly', () => {
    const status = summarize([db('has_datalakehouse_extras', 'replication', 'syncing'), db('defaultdb', 'pg_dump', 'done')]);
    expect(toServiceResponse(status)).toEqual({
      migration: { error: null, method: '', status: 'done' },
      migration_detail: [
        { dbname: 'defaultdb', error: null, method: 'pg_dump', status: 'done' },
        { dbname: 'has_datalakehouse_extras', error: null, method: 'replication', status: 'syncing' },
      ],
    });
  });

  it('names the common method when every database used it', () => {
    expect(summarize([db('a', 'pg_dump', 'done'), db('b', 'pg_dump', 'done')]).method).toBe('pg_dump');
  });

  it('is running while any database runs and failed as soon as one fails', () => {
    expect(summarize([db('a', 'pg_dump', 'done'), db('b', 'replication', 'running')]).status).toBe('running');
    const failed = summarize([db('a', 'pg_dump', 'running'), db('b', 'replication', 'failed', 'boom')]);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('b: boom');
  });

  it('is pending, not done, when nothing was ever migrated', () => {
    expect(toServiceResponse(summarize([]))).toEqual({ migration: { error: null, method: '', status: 'pending' }, migration_detail: [] });
  });

  it('is pending while a planned database has not started, though the others are done', () => {
    expect(summarize([db('a', 'pg_dump', 'done'), db('b', 'replication', 'pending')]).status).toBe('pending');
  });
});
