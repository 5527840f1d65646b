/**
 * Splits a SQL script (pg_dumpall's output) into statements, honouring
 * quotes, quoted identifiers, dollar quoting and comments, and dropping
 * psql meta-commands, which the server would not understand.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  // The statement so far: `parts`, then the script's text from `run` on. Copied in pieces, not a
  // character at a time: a 2,000-table pre-data script (440 kB) took 50 ms that way.
  let parts: string[] = [];
  let run = 0;
  let blank = true;
  const take = (end: number): void => {
    if (end > run) parts.push(script.slice(run, end));
  };
  const flush = (): void => {
    const text = parts.join('').trim();
    if (text !== '') statements.push(text);
    parts = [];
    blank = true;
  };
  const lastChar = (at: number): string => (at > run ? (script[at - 1] as string) : (parts.at(-1)?.at(-1) ?? ''));
  const dollarQuote = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
  let i = 0;
  while (i < script.length) {
    const ch = script[i] as string;
    if (blank && ch === '\\') {
      // A psql meta-command runs to the end of its line.
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
      parts = [];
      run = i;
      continue;
    }
    if ((ch === '-' && script[i + 1] === '-') || (ch === '/' && script[i + 1] === '*')) {
      take(i);
      const line = ch === '-';
      const end = script.indexOf(line ? '\n' : '*/', i + 2);
      i = end === -1 ? script.length : end + (line ? 1 : 2);
      parts.push(line ? '\n' : ' ');
      run = i;
      continue;
    }
    if (ch === "'" || ch === '"') {
      i = closingQuote(script, i, ch);
      blank = false;
      continue;
    }
    if (ch === '$') {
      dollarQuote.lastIndex = i;
      const dollar = dollarQuote.exec(script);
      if (dollar && !/[A-Za-z0-9_]/.test(lastChar(i))) {
        const tag = dollar[0];
        const end = script.indexOf(tag, i + tag.length);
        i = end === -1 ? script.length : end + tag.length;
        blank = false;
        continue;
      }
    }
    if (ch === ';') {
      take(i + 1);
      flush();
      i += 1;
      run = i;
      continue;
    }
    if (blank && !isSpace(ch)) blank = false;
    i += 1;
  }
  take(script.length);
  flush();
  return statements;
}

/** What `String.prototype.trim` takes for whitespace. */
function isSpace(ch: string): boolean {
  const code = ch.charCodeAt(0);
  if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) return true;
  return code > 0x7f && ch.trim() === '';
}

/** Index just past the quote that closes the one at `start` (doubled quotes are escapes; in `E'…'`, backslashes too). */
export function closingQuote(script: string, start: number, quote: string): number {
  const escapes = quote === "'" && /[eE]$/.test(script.slice(Math.max(0, start - 1), start));
  let i = start + 1;
  while (i < script.length) {
    const ch = script[i];
    if (escapes && ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (script[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return script.length;
}

/** Reads an identifier (quoted or not) at the start of `text`; returns it and the rest. */
export function readIdentifier(text: string): { name: string; rest: string } | undefined {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('"')) {
    const end = closingQuote(trimmed, 0, '"');
    return { name: trimmed.slice(1, end - 1).replace(/""/g, '"'), rest: trimmed.slice(end) };
  }
  const match = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(trimmed);
  if (!match) return undefined;
  return { name: match[0].toLowerCase(), rest: trimmed.slice(match[0].length) };
}
