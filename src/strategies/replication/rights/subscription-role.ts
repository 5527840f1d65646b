/**
 * PostgreSQL 16+: a member of `pg_create_subscription` with CREATE on the
 * database subscribes with plain DDL, owns the subscription, and the server
 * requires the connection to authenticate with a password. Such a role may
 * not silence the statement's logging (a superuser-only setting): a failing
 * CREATE SUBSCRIPTION can reach the destination's log with its connection
 * string, so this path comes after the extension's.
 */
import { quoteIdent, quoteLiteral } from '../../../pg/identifiers.js';
import { createSubscriptionStatement, type Subscriber } from './sides.js';
import { dropOwnSubscription } from './superuser.js';

export const subscriptionRoleSubscriber: Subscriber = {
  async createSubscription(target, spec) {
    await target.unsafe(createSubscriptionStatement(spec, { ident: quoteIdent, literal: quoteLiteral }));
  },
  dropSubscription: dropOwnSubscription,
};
