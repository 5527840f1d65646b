import { describe, expect, it } from 'vitest';
import { planRoleSync } from '../src/schema/roles.js';
import { splitStatements } from '../src/schema/sql-statements.js';

const script = `
--
-- PostgreSQL database cluster dump
--
SET default_transaction_read_only = off;
\\restrict abc
CREATE ROLE admin;
ALTER ROLE admin WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:a;b';
CREATE ROLE "App; User";
ALTER ROLE "App; User" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE "App; User" IS 'it''s; the app';
CREATE ROLE reader;
ALTER ROLE reader WITH NOSUPERUSER NOLOGIN;
CREATE ROLE existing;
ALTER ROLE existing WITH LOGIN PASSWORD 'would-overwrite';
GRANT reader TO "App; User" GRANTED BY admin;
GRANT pg_read_all_data TO reader GRANTED BY admin;
GRANT reader TO admin;
`;

describe('the role script', () => {
  it('splits on semicolons outside quotes, identifiers and comments, dropping psql meta-commands', () => {
    const statements = splitStatements(script);
    expect(statements).toContain(`COMMENT ON ROLE "App; User" IS 'it''s; the app';`);
    expect(statements.some((s) => s.startsWith('\\'))).toBe(false);
    expect(splitStatements('select $$a;b$$; select 1')).toEqual(['select $$a;b$$;', 'select 1']);
  });

  it('skips superusers and leaves roles the destination has untouched', () => {
    const plan = planRoleSync(script, { sourceSuperusers: new Set(['admin']), targetRoles: new Set(['existing', 'pg_read_all_data']) });
    const sql = plan.statements.map((s) => s.sql).join('\n');
    expect(plan.created).toEqual(['App; User', 'reader']);
    expect(plan.skipped).toEqual(['admin']);
    expect(plan.existing).toEqual(['existing']);
    expect(sql).not.toMatch(/admin/);
    expect(sql).not.toMatch(/would-overwrite/);
  });

  it('keeps memberships between roles that exist, without the grantor', () => {
    const plan = planRoleSync(script, { sourceSuperusers: new Set(['admin']), targetRoles: new Set(['pg_read_all_data']) });
    const grants = plan.statements.filter((s) => s.sql.startsWith('GRANT')).map((s) => s.sql);
    expect(grants).toEqual(['GRANT reader TO "App; User";', 'GRANT pg_read_all_data TO reader;']);
  });

  it('labels statements without their text, which may hold password hashes', () => {
    const plan = planRoleSync(script, { sourceSuperusers: new Set(), targetRoles: new Set() });
    expect(plan.statements.map((s) => s.label).join('\n')).not.toMatch(/SCRAM/);
  });
});
