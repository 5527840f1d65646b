/**
 * Table names as callers write them in `tables.include`/`tables.exclude`:
 * `table`, `schema.table` or `database.schema.table`, each part an SQL
 * identifier — folded to lower case unless double-quoted, so `Orders` means
 * `orders` and `"Orders"` means `Orders`, as in a statement.
 *
 * @module
 */

export interface TableName {
  /** The source database it applies to; any when absent. */
  readonly database?: string;
  /** Any schema when absent. */
  readonly schema?: string;
  readonly table: string;
}

/** The name, or what is wrong with it. */
export function parseTableName(text: string): TableName | { readonly problem: string } {
  const parts: string[] = [];
  let at = 0;
  while (at <= text.length) {
    if (text[at] === '"') {
      let part = '';
      let end = at + 1;
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote === -1) return { problem: `an unclosed quote in ${JSON.stringify(text)}` };
        part += text.slice(end, quote);
        if (text[quote + 1] === '"') {
          part += '"';
          end = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      if (part === '') return { problem: `an empty quoted name in ${JSON.stringify(text)}` };
      parts.push(part);
    } else {
      const dot = text.indexOf('.', at);
      const part = text.slice(at, dot === -1 ? text.length : dot);
      if (!/^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*$/.test(part)) {
        return { problem: `${JSON.stringify(part)} in ${JSON.stringify(text)} is not a name; double-quote names with other characters` };
      }
      parts.push(part.toLowerCase());
      at = dot === -1 ? text.length : dot;
    }
    if (at >= text.length) break;
    if (text[at] !== '.') return { problem: `expected a dot after a name in ${JSON.stringify(text)}` };
    at++;
  }
  if (parts.length === 0 || parts.length > 3) return { problem: `${JSON.stringify(text)} is not table, schema.table or database.schema.table` };
  const [first, second, third] = parts as [string, string?, string?];
  if (parts.length === 1) return { table: first };
  if (parts.length === 2) return { schema: first, table: second as string };
  return { database: first, schema: second as string, table: third as string };
}

/** Whether `name` names table `schema.table` of database `database`. */
export function namesTable(name: TableName, database: string, schema: string, table: string): boolean {
  return (name.database === undefined || name.database === database) && (name.schema === undefined || name.schema === schema) && name.table === table;
}
