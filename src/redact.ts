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
    this.#secrets = [...new Set(secrets.filter((s): s is string => !!s && s.length > 0))]
      .filter((secret) => !isCommonText(secret))
      .sort((a, b) => b.length - a.length);
  }

  /** Returns `text` with every known secret and every credential-looking fragment masked. */
  scrub(text: string): string {
    let out = text
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]*@/gi, '$1***@')
      // Also as a connection string quoted inside an SQL literal, its quotes doubled (a CREATE SUBSCRIPTION's).
      .replace(/(\bpassword\s*=\s*)(''(?:[^']|'''')*''|'(?:[^'\\]|\\.)*'|[^\s']+)/gi, '$1***');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}

/**
 * A password so short, or so plainly a word, that it occurs in ordinary
 * messages ("a" in every sentence, "postgres" as the user, the database and
 * the server's name): masking each occurrence would make every message
 * unreadable while telling a reader nothing about which word was the
 * password. Such a password is masked only where it stands as a password,
 * in a URI's user information or a connection string's `password=`, which
 * is where our connections, a tool or a server could ever echo it.
 */
function isCommonText(secret: string): boolean {
  // A long run of letters is no word a message would hold by chance: still masked everywhere.
  return secret.length < 8 || (secret.length <= 12 && /^[a-z]+$/i.test(secret));
}
