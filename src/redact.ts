/**
 * Keeps passwords out of everything the library hands back: error messages,
 * event payloads, tool output. Each {@link Migrator} owns one redactor that
 * knows the passwords of its two connections; anything that looks like a
 * credential in a URI or a libpq connection string is masked as well, because
 * a server may echo a connection string we never saw (a subscription's, say).
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: readonly (string | undefined)[]) {
    // Longest first, so a password that contains another is masked whole.
    this.#secrets = [...new Set(secrets.filter((s): s is string => !!s && s.length > 0))].sort(
      (a, b) => b.length - a.length,
    );
  }

  /** Returns `text` with every known secret and every credential-looking fragment masked. */
  scrub(text: string): string {
    let out = text
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]*@/gi, '$1***@')
      .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)/gi, '$1***');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}
