/**
 * Reads the SQL script `pg_restore --verbose --file=-` writes back into the
 * archive's items: each item's table-of-contents id, type, name and
 * dependencies (from its header comment) and the exact statements pg_restore
 * would send for it, plus the session settings in force when it would run.
 *
 * pg_restore prints the settings an item needs (`SET default_tablespace`, …)
 * just before the item's header, and only when they change; so the settings
 * are tracked along the script and each item carries all of them, which lets
 * it run alone on any connection.
 */
import { closingQuote } from './sql-statements.js';

/** One archive item as pg_restore would restore it. */
export interface ScriptItem {
  /** The archive's dump id: what `Dependencies` refer to. */
  readonly id: number;
  /** The archive's item type: `INDEX`, `CONSTRAINT`, `FK CONSTRAINT`, `TRIGGER`, `COMMENT`, … */
  readonly type: string;
  /** The item's name as pg_restore prints it (a constraint's is `table constraint`). */
  readonly name: string;
  /** `-` for objects outside any schema. */
  readonly schema: string;
  readonly dependencies: readonly number[];
  /** The statements, in order, each ending with `;`. */
  readonly statements: readonly string[];
  /** The session settings in force for it, as statements (`SET name = value;`). */
  readonly settings: readonly string[];
}

export interface RestoreScript {
  readonly items: readonly ScriptItem[];
}

type Token = { readonly kind: 'statement'; readonly text: string } | { readonly kind: 'header'; readonly lines: readonly string[] };

const TOC_ENTRY = /^-- TOC entry (\d+) \(class \d+ OID \d+\)$/;
const DEPENDENCIES = /^-- Dependencies: ([\d ]*)$/;
const NAME = /^-- Name: (.*); Type: ([A-Z ]+); Schema: (.*); Owner: .*$/;
/** A statement that only changes a session setting: `SET x = y;` or the search_path's `set_config`. */
const SPECIAL = /[-/'"$;]/g;
const SETTING = /^(?:SET (\w+) = [^\n]*|SELECT pg_catalog\.set_config\('(\w+)', '(?:[^']|'')*', false\));$/;

/**
 * Splits a pg_restore script into its items. Throws (a private leaf: the
 * caller turns it into a {@link MigrationError}) when the script has a shape
 * this reader does not know, so nothing is ever silently left out.
 */
export function parseRestoreScript(script: string): RestoreScript {
  const settings = new Map<string, string>();
  const items: ScriptItem[] = [];
  let current: { id: number; type: string; name: string; schema: string; dependencies: number[]; settings: string[] } | undefined;
  let statements: string[] = [];

  const finish = (): void => {
    // Settings at the end of an item's text belong to the items after it.
    let end = statements.length;
    while (end > 0 && SETTING.test(statements[end - 1] as string)) end -= 1;
    const trailing = statements.slice(end);
    if (current) items.push({ ...current, statements: statements.slice(0, end) });
    else if (end > 0) throw new Error(`pg_restore's script starts with a statement that is not a setting: ${statements[0]}`);
    for (const statement of trailing) remember(settings, statement);
    statements = [];
  };

  for (const token of tokenize(script)) {
    if (token.kind === 'statement') {
      statements.push(token.text);
      continue;
    }
    finish();
    current = { ...parseHeader(token.lines), settings: [...settings.values()] };
  }
  finish();
  return { items };
}

function remember(settings: Map<string, string>, statement: string): void {
  const match = SETTING.exec(statement);
  const name = match?.[1] ?? match?.[2];
  if (name) settings.set(name, statement);
}

function parseHeader(lines: readonly string[]): { id: number; type: string; name: string; schema: string; dependencies: number[] } {
  let id: number | undefined;
  let dependencies: number[] = [];
  let named: { type: string; name: string; schema: string } | undefined;
  for (const line of lines) {
    const entry = TOC_ENTRY.exec(line);
    if (entry) id = Number(entry[1]);
    const deps = DEPENDENCIES.exec(line);
    if (deps) dependencies = (deps[1] ?? '').split(' ').filter(Boolean).map(Number);
    const name = NAME.exec(line);
    if (name) named = { name: name[1] as string, type: name[2] as string, schema: name[3] as string };
  }
  if (id === undefined || !named) throw new Error(`pg_restore wrote an item header this reader does not know: ${lines.join(' / ')}`);
  return { id, dependencies: [...new Set(dependencies)], ...named };
}

/**
 * The script as statements and item headers, in order. Comments between
 * statements and psql meta-commands (`\restrict`) are dropped; quotes,
 * quoted identifiers and dollar quotes are honoured, so a header-like line
 * inside a string literal stays part of its statement.
 */
function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let start = -1;
  const atLineStart = (at: number): boolean => at === 0 || script[at - 1] === '\n';
  const lineEnd = (at: number): number => {
    const end = script.indexOf('\n', at);
    return end === -1 ? script.length : end;
  };
  while (i < script.length) {
    if (start === -1) {
      const ch = script[i] as string;
      if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') {
        i += 1;
        continue;
      }
      if (ch === '\\' && atLineStart(i)) {
        i = lineEnd(i) + 1;
        continue;
      }
      if (script.startsWith('--', i)) {
        const end = lineEnd(i);
        const line = script.slice(i, end);
        if (TOC_ENTRY.test(line)) {
          const lines = [line];
          let next = end + 1;
          while (next < script.length && script.startsWith('--', next)) {
            const stop = lineEnd(next);
            lines.push(script.slice(next, stop));
            next = stop + 1;
          }
          tokens.push({ kind: 'header', lines });
          i = next;
          continue;
        }
        i = end + 1;
        continue;
      }
      start = i;
    }
    // Inside a statement only these characters can change anything: skip to the next one.
    SPECIAL.lastIndex = i;
    const special = SPECIAL.exec(script);
    if (!special) {
      i = script.length;
      continue;
    }
    i = special.index;
    const ch = script[i] as string;
    if (script.startsWith('--', i)) {
      i = lineEnd(i);
      continue;
    }
    if (script.startsWith('/*', i)) {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
      continue;
    }
    if (ch === "'" || ch === '"') {
      i = closingQuote(script, i, ch);
      continue;
    }
    const dollar = ch === '$' ? /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64)) : null;
    if (dollar && !/[A-Za-z0-9_]/.test(script[i - 1] ?? '')) {
      const tag = dollar[0];
      const end = script.indexOf(tag, i + tag.length);
      i = end === -1 ? script.length : end + tag.length;
      continue;
    }
    i += 1;
    if (ch === ';') {
      tokens.push({ kind: 'statement', text: script.slice(start, i) });
      start = -1;
    }
  }
  if (start !== -1 && script.slice(start).trim() !== '') {
    throw new Error(`pg_restore's script ends inside a statement: ${script.slice(start, start + 80)}`);
  }
  return tokens;
}

/** `text` with the insides of string literals and quoted identifiers blanked, to look for keywords safely. */
export function outsideQuotes(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === "'" || ch === '"') {
      const end = closingQuote(text, i, ch);
      out += ch + ' '.repeat(Math.max(0, end - i - 2)) + ch;
      i = end;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}
