/**
 * The rights paths of one database, chosen from the live clusters when the
 * strategy acts (see paths.ts for the rules).
 */
import type { Sql } from 'postgres';
import { managedService } from '../../../pg/queries/managed-service.js';
import { databaseRights, extrasAvailability } from '../../../pg/queries/publishing-rights.js';
import { roleRights } from '../../../pg/queries/role-rights.js';
import { chooseSourcePath, chooseTargetPath, type PathChoice, type ReplicationPaths } from './paths.js';

export async function detectPaths(dbname: string, source: Sql, target: Sql): Promise<PathChoice<ReplicationPaths>> {
  const [sourceRights, sourceDatabase, service, targetRights, targetDatabase, version, sourceVersion] = await Promise.all([
    roleRights(source),
    databaseRights(source),
    managedService(source),
    roleRights(target),
    databaseRights(target),
    target<{ num: string }[]>`select current_setting('server_version_num') as num`,
    source<{ num: string }[]>`select current_setting('server_version_num') as num`,
  ]);
  const major = Math.floor(Number(version[0]?.num) / 10000);
  const sourceMajor = Math.floor(Number(sourceVersion[0]?.num) / 10000);
  const sourcePath = chooseSourcePath({ dbname, major: sourceMajor, rights: sourceRights, database: sourceDatabase, service });
  if (!sourcePath.ok) return sourcePath;
  const targetPath = chooseTargetPath({ dbname, rights: targetRights, major, database: targetDatabase, extras: await extrasAvailability(target, major) });
  if (!targetPath.ok) return targetPath;
  return { ok: true, path: { source: sourcePath.path, target: targetPath.path }, detail: `${sourcePath.detail}; ${targetPath.detail}` };
}
