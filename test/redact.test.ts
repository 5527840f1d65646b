import { describe, expect, it } from 'vitest';
import { Redactor } from '../src/redact.js';

describe('redacting passwords from messages', () => {
  it('masks a strong password wherever it appears', () => {
    const redactor = new Redactor(['S3cret-Pw!x']);
    expect(redactor.scrub('role said S3cret-Pw!x twice: S3cret-Pw!x')).toBe('role said *** twice: ***');
    // Letters only, but too long to be a word a message holds by chance.
    expect(new Redactor(['correcthorsebatterystaple']).scrub('it was correcthorsebatterystaple')).toBe('it was ***');
  });

  it('leaves the words of a message alone when the password is short or a plain word', () => {
    const redactor = new Redactor(['a', 'postgres']);
    const text = 'Authentication failed for the source (postgres@127.0.0.1:5432/postgres)';
    expect(redactor.scrub(text)).toBe(text);
  });

  it('still masks a short or plain-word password where it stands as a password: URIs and connection strings', () => {
    const redactor = new Redactor(['a', 'postgres']);
    expect(redactor.scrub('could not use postgres://postgres:postgres@db.example/postgres')).toBe('could not use postgres://postgres:***@db.example/postgres');
    expect(redactor.scrub("connection 'host=db user=u password=a dbname=app'")).toBe("connection 'host=db user=u password=*** dbname=app'");
    expect(redactor.scrub("connection 'host=db password=''postgres'' dbname=app'")).toBe("connection 'host=db password=*** dbname=app'");
  });
});
