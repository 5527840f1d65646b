import type { Check } from '../facts.js';

/** Every extension a source database uses must be installable on the destination. */
export const extensions: Check = ({ databases, target }) => {
  const available = new Set(target.availableExtensions);
  return databases.map((db) => {
    const missing = db.extensions.filter((name) => !available.has(name));
    return missing.length === 0
      ? { id: 'extensions', ok: true, database: db.info.name, message: `Extensions available on the destination: ${db.extensions.join(', ') || 'none used'}` }
      : {
          id: 'extensions',
          ok: false,
          side: 'target' as const,
          database: db.info.name,
          blocks: 'migration' as const,
          message: `"${db.info.name}" uses extensions the destination cannot provide: ${missing.join(', ')}`,
          hint: 'Install those extensions on the destination, or drop them from the source database.',
        };
  });
};
