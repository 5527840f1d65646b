/** The rights paths of each database, from preflight's facts (the rules are in paths.ts). */
import { chooseSourcePath, chooseTargetPath, type PathChoice, type SourcePath, type TargetPath } from '../strategies/replication/rights/paths.js';
import type { DatabaseFacts, PreflightFacts } from './facts.js';

export interface DatabasePaths {
  readonly source: PathChoice<SourcePath>;
  readonly target: PathChoice<TargetPath>;
}

export function pathsOf(db: DatabaseFacts, facts: Pick<PreflightFacts, 'source' | 'target'>): DatabasePaths {
  const dbname = db.info.name;
  return {
    source: chooseSourcePath({ dbname, major: facts.source.settings.major, rights: facts.source.rights, database: db.rights, service: facts.source.managed }),
    target: chooseTargetPath({
      dbname: db.targetName,
      rights: facts.target.rights,
      major: facts.target.settings.major,
      database: db.targetRights,
      extras: facts.target.extras,
    }),
  };
}
