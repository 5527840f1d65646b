/**
 * Masks the password of any connection URI in text the CLI did not build
 * itself: the argument parser quotes a mistyped flag as given, and
 * `--sorce=postgres://user:secret@host` must not print the secret.
 *
 * @module
 */
export function scrubUriPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@'"]*:)[^@\s/'"]*@/gi, '$1***@');
}
