import type { ToolName } from '../options.js';
import { libraryDump, libraryReplication } from './library.js';
import { pgDumpDirectory } from './pg-dump-directory.js';
import { pgDumpPipe } from './pg-dump-pipe.js';
import { pgcopydb } from './pgcopydb.js';
import { subscription } from './subscription.js';
import type { Tool } from './tool.js';

export type { RunContext, Tool, ToolRun } from './tool.js';

export const TOOLS: Readonly<Record<ToolName, Tool>> = {
  'us-dump': libraryDump,
  'us-replication': libraryReplication,
  'pg_dump-pipe': pgDumpPipe,
  'pg_dump-dir': pgDumpDirectory,
  subscription,
  pgcopydb,
};

/** The tools that replicate, the only ones that make sense while writers run. */
export const REPLICATING_TOOLS: readonly ToolName[] = ['us-replication', 'subscription'];
