/**
 * Plain tables as the service's CLI prints them (the migration guide's
 * `STATUS  METHOD  ERROR`): upper-case headers, a `=` line under each
 * column, columns two spaces apart, no trailing blanks.
 *
 * @module
 */

export function renderTable(headers: readonly string[], rawRows: readonly (readonly string[])[]): string {
  // A cell is one line, whatever an error message holds.
  const rows = rawRows.map((row) => row.map((cell) => cell.replace(/\s*\n\s*/g, ' ')));
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  // The last column is free text (a message, an error): its rule is as long as its header.
  const rules = widths.map((width, column) => '='.repeat(column === widths.length - 1 ? (headers[column] ?? '').length : width));
  return [line(headers), line(rules), ...rows.map(line)].join('\n');
}
