/**
 * Splits a SQL script (pg_dumpall's output) into statements, honouring
 * quotes, quoted identifiers, dollar quoting and comments, and dropping
 * psql meta-commands, which the server would not understand.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const flush = (): void => {
    const text = current.trim();
    if (text !== '') statements.push(text);
    current = '';
  };
  while (i < script.length) {
    const ch = script[i] as string;
    const rest = script.slice(i);
    if (current.trim() === '' && ch === '\\') {
      // A psql meta-command runs to the end of its line.
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
      current = '';
      continue;
    }
    if (rest.startsWith('--')) {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
      current += '\n';
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
      current += ' ';
      continue;
    }
    if (ch === "'" || ch === '"') {
      const end = closingQuote(script, i, ch);
      current += script.slice(i, end);
      i = end;
      continue;
    }
    const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
    if (dollar && !/[A-Za-z0-9_]$/.test(current)) {
      const tag = dollar[0];
      const end = script.indexOf(tag, i + tag.length);
      const stop = end === -1 ? script.length : end + tag.length;
      current += script.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === ';') {
      current += ';';
      flush();
      i += 1;
      continue;
    }
    current += ch;
    i += 1;
  }
  flush();
  return statements;
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
