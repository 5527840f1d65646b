/**
 * PostgreSQL 16+: a member of `pg_create_subscription` with CREATE on the
 * database subscribes with plain DDL, owns the subscription, and the server
 * requires the connection to authenticate with a password. Such a role may
 * turn off only the records of statement text that are user settings (or
 * granted to it with SET ON PARAMETER); the server's log settings usually
 * are not, so preflight warns of each one that would keep the connection
 * string, and this path comes after the extension's.
 */
import { quoteIdent, quoteLiteral } from '../../../pg/identifiers.js';
import { createSubscriptionStatement, type Subscriber } from './sides.js';
import { dropOwnSubscription } from './superuser.js';
import { runUnrecorded } from './unrecorded.js';

export const subscriptionRoleSubscriber: Subscriber = {
  async createSubscription(target, spec) {
    await runUnrecorded(target, (session) => session.unsafe(createSubscriptionStatement(spec, { ident: quoteIdent, literal: quoteLiteral })), spec.commitIf);
  },
  dropSubscription: dropOwnSubscription,
};
