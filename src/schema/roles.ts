/**
 * Copies roles with `pg_dumpall --roles-only`, statement by statement, so
 * one that fails is reported rather than lost in a script. Superusers and
 * PostgreSQL's reserved `pg_*` roles are never copied (a destination service
 * has its own), nor roles the caller excludes; roles already on the
 * destination are left as they are: their memberships are added, their
 * attributes and passwords untouched.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { readIdentifier, splitStatements } from './sql-statements.js';

/** What the role copy did, for the `schema` event and the report. */
export interface RoleSyncPlan {
  /** Statements to run on the destination, in order. */
  readonly statements: readonly RoleStatement[];
  readonly created: readonly string[];
  readonly existing: readonly string[];
  readonly skipped: readonly string[];
}

export interface RoleStatement {
  readonly sql: string;
  /** A printable summary ("CREATE ROLE app"): role statements may carry password hashes. */
  readonly label: string;
  /** The role the statement creates, alters or grants to. */
  readonly role: string;
}

export interface RoleFacts {
  /** Source roles with superuser: not copied. */
  readonly sourceSuperusers: ReadonlySet<string>;
  /** Every role the destination has now. */
  readonly targetRoles: ReadonlySet<string>;
  /** Roles the caller asked not to copy. */
  readonly excluded?: ReadonlySet<string>;
}

export async function roleFacts(source: Sql, target: Sql): Promise<RoleFacts> {
  const supers = await source<{ name: string }[]>`select rolname as name from pg_roles where rolsuper`;
  const existing = await target<{ name: string }[]>`select rolname as name from pg_roles`;
  return {
    sourceSuperusers: new Set(supers.map((r) => r.name)),
    targetRoles: new Set(existing.map((r) => r.name)),
  };
}

/** Turns pg_dumpall's role script into the statements that are safe to run on the destination. */
export function planRoleSync(script: string, facts: RoleFacts): RoleSyncPlan {
  const created = new Set<string>();
  const existing = new Set<string>();
  const skipped = new Set<string>();
  const reserved = (name: string): boolean => name.startsWith('pg_') || facts.sourceSuperusers.has(name) || (facts.excluded?.has(name) ?? false);
  const statements: RoleStatement[] = [];

  for (const statement of splitStatements(script)) {
    const roleStatement = /^(create|alter|comment\s+on|security\s+label(?:\s+for\s+\S+)?\s+on)\s+role\s+/i.exec(statement);
    if (roleStatement) {
      const role = readIdentifier(statement.slice(roleStatement[0].length));
      if (!role) continue;
      const verb = (roleStatement[1] ?? '').toUpperCase().replace(/\s+/g, ' ');
      if (reserved(role.name)) {
        skipped.add(role.name);
        continue;
      }
      if (facts.targetRoles.has(role.name)) {
        existing.add(role.name);
        continue;
      }
      if (verb === 'CREATE') created.add(role.name);
      statements.push({ sql: statement, label: `${verb} ROLE ${role.name}`, role: role.name });
      continue;
    }
    const grant = /^grant\s+/i.exec(statement);
    if (grant) {
      const kept = keepGrant(statement, (name) => created.has(name) || (facts.targetRoles.has(name) && !facts.sourceSuperusers.has(name)) || name.startsWith('pg_'));
      if (kept) statements.push({ sql: kept, label: kept.replace(/;$/, ''), role: readIdentifier(kept.replace(/^grant\s+/i, ''))?.name ?? '' });
      continue;
    }
    // SET lines and the like configure pg_dumpall's own session: not needed.
  }
  return { statements, created: [...created], existing: [...existing], skipped: [...skipped] };
}

/**
 * `GRANT role TO member ... GRANTED BY grantor;` kept when both roles exist on
 * the destination. The grantor is dropped: it may be a superuser we did not
 * copy, and the destination's migration user grants instead.
 */
function keepGrant(statement: string, exists: (role: string) => boolean): string | undefined {
  const granted = readIdentifier(statement.replace(/^grant\s+/i, ''));
  if (!granted) return undefined;
  const to = /^\s*to\s+/i.exec(granted.rest);
  if (!to) return undefined;
  const member = readIdentifier(granted.rest.slice(to[0].length));
  if (!member || !exists(granted.name) || !exists(member.name)) return undefined;
  return statement.replace(/\s+granted\s+by\s+("(?:[^"]|"")*"|\S+?)(?=\s*;|\s*$)/i, '').replace(/;?\s*$/, ';');
}

/** Role attributes only a superuser may set or even name (PostgreSQL 15 and older refuse `NOREPLICATION` too). */
const SUPERUSER_ATTRIBUTES = /^(no)?(superuser|replication|bypassrls)$/i;

/**
 * `ALTER ROLE name WITH ...` without the attributes only a superuser may
 * set, and the positive ones it dropped (which a superuser must grant);
 * `undefined` when the statement names none.
 */
export function withoutSuperuserAttributes(statement: string): { sql: string; dropped: string[] } | undefined {
  const head = /^alter\s+role\s+/i.exec(statement);
  if (!head) return undefined;
  const role = readIdentifier(statement.slice(head[0].length));
  if (!role) return undefined;
  const withKeyword = /^\s*with\s+/i.exec(role.rest);
  if (!withKeyword) return undefined;
  const options = role.rest.slice(withKeyword[0].length);
  // Attributes come before any quoted value (PASSWORD '...', VALID UNTIL '...'): only that part is read as words.
  const quote = options.indexOf("'");
  const words = (quote === -1 ? options.replace(/;\s*$/, '') : options.slice(0, quote)).split(/\s+/).filter(Boolean);
  const rest = quote === -1 ? ';' : options.slice(quote);
  const kept = words.filter((w) => !SUPERUSER_ATTRIBUTES.test(w));
  if (kept.length === words.length) return undefined;
  const dropped = words.filter((w) => SUPERUSER_ATTRIBUTES.test(w) && !/^no/i.test(w)).map((w) => w.toUpperCase());
  const name = statement.slice(head[0].length, statement.length - role.rest.length).trim();
  if (kept.length === 0 && quote === -1) return { sql: '', dropped };
  return { sql: `ALTER ROLE ${name} WITH ${[...kept, rest === ';' ? '' : rest].join(' ').trim()}${rest === ';' ? ';' : ''}`, dropped };
}
