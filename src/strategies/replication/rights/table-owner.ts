/**
 * A role that owns every table publishes them by name: `FOR ALL TABLES`
 * needs superuser, a table list only ownership and CREATE on the database.
 * The list is every permanent table as the slot is created; one created
 * later is not in it, and status reports it (see unpublished-tables.ts).
 */
import { quoteIdent } from '../../../pg/identifiers.js';
import type { Publisher } from './sides.js';
import { superuserPublisher } from './superuser.js';
import { publishableTables } from './publishable-tables.js';

export const tableOwnerPublisher: Publisher = {
  async createPublication(source, name, filter) {
    const tables = await publishableTables(source, filter);
    // A publication with no table yet still takes tables added to it later.
    await source.unsafe(`create publication ${quoteIdent(name)}${tables.length > 0 ? ` for table ${tables.join(', ')}` : ''}`);
  },
  dropPublication: superuserPublisher.dropPublication,
  dropSlot: superuserPublisher.dropSlot,
};
