/**
 * Extensions that carry replication rather than data: a source has them to
 * replicate or be migrated, a destination has its own or none. They never
 * block a migration, and are never restored as part of a database's schema
 * (the migration installs `datalakehouse_extras` itself where it subscribes
 * through it).
 */
export const REPLICATION_PLUMBING: readonly string[] = ['datalakehouse_extras', 'aiven_extras', 'pglogical', 'pglogical_origin'];

/** The extensions a restore leaves out: the plumbing, and those the caller excluded. */
export function extensionsLeftOut(excludeExtensions: readonly string[]): string[] {
  return [...new Set([...REPLICATION_PLUMBING, ...excludeExtensions])];
}
