const SHOWN = 5;

/** A few names and how many more: a message stays readable with a thousand tables. */
export function listed(names: readonly string[]): string {
  return names.slice(0, SHOWN).join(', ') + (names.length > SHOWN ? ` and ${names.length - SHOWN} more` : '');
}
