import { readableIdent } from '../../pg/identifiers.js';
import { extensionsLeftOut } from '../../schema/replication-plumbing.js';
import type { Check, Finding } from '../facts.js';

/**
 * Every extension a source database uses must be creatable on the
 * destination by the destination user: offered by the server, and trusted
 * when that user is not a superuser. Replication plumbing and extensions the
 * caller excluded are left out. A version the destination does not offer is
 * a warning: the restore creates its default version.
 */
export const extensions: Check = ({ databases, target, excludeExtensions }) => {
  const available = new Map(target.availableExtensions.map((e) => [e.name, e]));
  const leftOut = new Set(extensionsLeftOut(excludeExtensions));
  const user = target.rights.username;
  return databases.flatMap((db): Finding[] => {
    const database = db.info.name;
    const needed = db.extensions.filter((e) => !leftOut.has(e.name));
    const missing = needed.filter((e) => !available.has(e.name));
    const untrusted = target.rights.superuser ? [] : needed.filter((e) => e.name !== 'plpgsql' && available.get(e.name)?.trusted === false);
    const otherVersion = needed.filter((e) => available.has(e.name) && !available.get(e.name)?.versions.includes(e.version));
    const findings: Finding[] = [];
    const blocking = (message: string, hint: string): Finding => ({ id: 'extensions', ok: false, side: 'target', database, blocks: 'migration', message, hint });
    if (missing.length > 0) {
      findings.push(
        blocking(
          `"${database}" uses extensions the destination does not offer: ${missing.map((e) => `${e.name} ${e.version}`).join(', ')}`,
          `Install them on the destination server, drop them from the source database, or leave them out with excludeExtensions: [${missing.map((e) => `'${e.name}'`).join(', ')}].`,
        ),
      );
    }
    if (untrusted.length > 0) {
      findings.push(
        blocking(
          `"${database}" uses extensions only a superuser may create on the destination, and ${user} is not one: ${untrusted.map((e) => e.name).join(', ')}`,
          `Have a superuser of the destination create them in the database first (${untrusted.map((e) => `CREATE EXTENSION ${readableIdent(e.name)};`).join(' ')}), or leave them out with excludeExtensions.`,
        ),
      );
    }
    if (otherVersion.length > 0) {
      findings.push({
        id: 'extension-versions',
        ok: false,
        side: 'target',
        database,
        message: `The destination offers other versions of ${otherVersion.map((e) => `${e.name} (source ${e.version}; destination ${available.get(e.name)?.versions.join(', ')})`).join(', ')}: the restore creates its default version`,
        hint: 'Check that what uses these extensions works with the destination\'s version, or install the source\'s version there.',
      });
    }
    if (findings.length === 0) {
      findings.push({ id: 'extensions', ok: true, database, message: `Extensions available on the destination: ${needed.map((e) => e.name).join(', ') || 'none used'}` });
    }
    return findings;
  });
};
