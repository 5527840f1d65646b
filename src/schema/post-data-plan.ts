/**
 * The post-data section of a schema dump (indexes, constraints, triggers,
 * rules, policies, …) cut into steps that can run while the data is still
 * being copied: each table's indexes and non-foreign-key constraints as soon
 * as that table's rows are in, and the rest (foreign keys, triggers, rules,
 * policies, event triggers, …) once every table is.
 *
 * The steps are what pg_restore itself would run, read from its own script
 * (`pg_restore --verbose --section=post-data --file=-`), never rebuilt from
 * the catalog: the same statements, the same per-item settings, the same
 * dependencies and the same order. Rebuilding them with `pg_get_indexdef`
 * and friends would mean re-implementing pg_dump's choices (ONLY, CLUSTER
 * ON and REPLICA IDENTITY appended to the index, NOT VALID checks dumped
 * apart, partition index attachment) and drifting from them with every
 * major release.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import { messageOf } from '../pg/connect.js';
import type { PgTools } from '../pg/tools.js';
import type { Redactor } from '../redact.js';
import { outsideQuotes, parseRestoreScript, type ScriptItem } from './restore-script.js';
import { readSectionScript, type SchemaDump } from './schema-dump.js';
import { readIdentifier } from './sql-statements.js';

/** A table by name, as the copy engine reports it. */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

/**
 * pg_restore restores in passes: privileges after everything else, and
 * event triggers after the privileges, so none fires during the restore.
 */
export type RestorePass = 'main' | 'acl' | 'post-acl';

/** One post-data item of the dump, ready to run on its own. */
export interface PostDataStep {
  /** The dump's item id (what `dependsOn` and `locks` refer to). */
  readonly id: number;
  /** The dump's item type: `INDEX`, `CONSTRAINT`, `CHECK CONSTRAINT`, `FK CONSTRAINT`, `TRIGGER`, `COMMENT`, … */
  readonly type: string;
  /** `INDEX "public.orders_customer"`: how errors and events name it, the way pg_restore does. */
  readonly label: string;
  /** The data table it belongs to; `null` for a step of {@link PostDataPlan.rest} or {@link PostDataPlan.beforeTables}. */
  readonly table: TableRef | null;
  /** The dump ids this item depends on (tables, other steps, pre-data objects). */
  readonly dependsOn: readonly number[];
  /**
   * Tables (dump ids) the step locks exclusively: pg_restore never runs it
   * beside another step that depends on one of them. Empty for `INDEX`.
   */
  readonly locks: readonly number[];
  readonly pass: RestorePass;
  /** The session settings pg_restore has in force for the item, as `SET LOCAL` statements. */
  readonly settings: readonly string[];
  /** The item's statements: with owners and privileges, or without them (`--no-owner --no-privileges`), as planned. */
  readonly sql: string;
}

/**
 * Every post-data step of one database, each exactly once, in three groups
 * that run in this order:
 * 1. {@link beforeTables}: indexes and constraints of partitioned tables,
 *    created `ON ONLY` the parent. They build nothing (a partitioned table
 *    holds no rows), and the partitions' indexes depend on them.
 * 2. {@link forTable}: a data table's indexes, primary key, unique and
 *    exclusion constraints, checks added after the data, and their comments,
 *    for when that table's rows are committed.
 * 3. {@link rest}: everything else, once every table's steps are done:
 *    attaching partition indexes, foreign keys, triggers, rules, policies,
 *    statistics objects, materialized views' indexes, event triggers.
 */
export interface PostDataPlan {
  readonly beforeTables: readonly PostDataStep[];
  /** The data tables that have steps. */
  readonly tables: readonly TableRef[];
  /** A table's steps in the dump's order; empty for a table without any (or not in the dump). */
  forTable(schema: string, table: string): readonly PostDataStep[];
  readonly rest: readonly PostDataStep[];
  /** Every step in the dump's order. */
  readonly steps: readonly PostDataStep[];
  /**
   * The data tables a step depends on (dump ids in its `dependsOn`), and
   * whether any of them is partitioned: a foreign key's two tables.
   */
  tablesOf(step: PostDataStep): { readonly tables: readonly TableRef[]; readonly partitioned: boolean };
}

export interface PlanOptions {
  /** Leave owners and privileges out, as `pg_restore --no-owner --no-privileges` does. */
  readonly noOwner: boolean;
  /**
   * The pre-data section's script ({@link readSectionScript}) when the caller
   * reads it anyway, to restore it. The post-data section is read after it:
   * the restore waits for its script, the plan not until the restore is done.
   */
  readonly preData?: Promise<string>;
}

/**
 * Plans the post-data section of `dump`. Reads the dump only (pg_restore
 * writes its script to a pipe): nothing connects to a server.
 *
 * ### Examples
 * ```ts
 * const plan = await planPostData(tools, dump, redactor, { noOwner: false });
 * if (plan.isOk()) for (const step of plan.value.forTable('public', 'orders')) logger.info(step.label);
 * ```
 */
export function planPostData(tools: PgTools, dump: SchemaDump, redactor: Redactor, options: PlanOptions): ResultAsync<PostDataPlan, MigrationError> {
  const unreadable = (error: unknown): MigrationError =>
    migrationError('schema', `Reading the schema dump failed: ${redactor.scrub(messageOf(error))}`, {
      hint: 'pg_restore could not read the dump it was given; check the temporary directory and the client tools.',
    });
  const preData = ResultAsync.fromPromise(options.preData ?? readSectionScript(tools, dump, 'pre-data', options.noOwner), unreadable);
  return preData
    .andThen((pre) => ResultAsync.fromPromise(readSectionScript(tools, dump, 'post-data', options.noOwner), unreadable).map((post) => [pre, post] as const))
    .andThen(([pre, post]) => {
      try {
        return okAsync(buildPostDataPlan(pre, post));
      } catch (error) {
        return errAsync(
          migrationError('schema', `Planning the post-data schema failed: ${redactor.scrub(messageOf(error))}`, {
            hint: 'The dump has a shape this version does not know; the whole post-data section can still be restored at once.',
          }),
        );
      }
    });
}

/** The data tables and partitioned tables of the pre-data section, by dump id. */
interface TableItem extends TableRef {
  readonly partitioned: boolean;
}

const TABLE_BOUND = new Set(['INDEX', 'CONSTRAINT', 'CHECK CONSTRAINT']);
/** Items about another item, that go where it goes. */
const ANNOTATIONS = new Set(['COMMENT', 'SECURITY LABEL']);

type Home = { readonly phase: 0 } | { readonly phase: 1; readonly table: number } | { readonly phase: 2 };
const BEFORE_TABLES: Home = { phase: 0 };
const REST: Home = { phase: 2 };

/**
 * Builds the plan from pg_restore's scripts: the pre-data section (to know
 * the tables) and the post-data section. Throws on a script it cannot read;
 * {@link planPostData} reports that as an error.
 */
export function buildPostDataPlan(preData: string, postData: string): PostDataPlan {
  const tables = new Map<number, TableItem>();
  const tableIds = new Set<number>();
  for (const item of parseRestoreScript(preData).items) {
    if (item.type !== 'TABLE') continue;
    tableIds.add(item.id);
    const table = tableOf(item);
    if (table) tables.set(item.id, table);
  }
  const items = withoutPublications(parseRestoreScript(postData).items);
  const byId = new Map(items.map((item) => [item.id, item]));

  const homes = new Map<number, Home>();
  for (const item of items) homes.set(item.id, naturalHome(item, tables, byId, homes));
  // A step may only wait for steps of its own group or of an earlier one.
  for (let changed = true; changed; ) {
    changed = false;
    for (const item of items) {
      const home = homes.get(item.id) as Home;
      if (home.phase === 2) continue;
      const misplaced = item.dependencies.some((dep) => {
        const depHome = homes.get(dep);
        if (!depHome) return false;
        if (depHome.phase > home.phase) return true;
        return depHome.phase === 1 && home.phase === 1 && depHome.table !== home.table;
      });
      if (misplaced) {
        homes.set(item.id, REST);
        changed = true;
      }
    }
  }

  const steps = items.map((item): PostDataStep => {
    const home = homes.get(item.id) as Home;
    const table = home.phase === 1 ? (tables.get(home.table) as TableItem) : null;
    return {
      id: item.id,
      type: item.type,
      label: `${item.type} "${item.schema === '-' ? '' : `${item.schema}.`}${item.name}"`,
      table: table ? { schema: table.schema, name: table.name } : null,
      dependsOn: item.dependencies,
      locks: item.type === 'INDEX' ? [] : item.dependencies.filter((dep) => tableIds.has(dep)),
      pass: passOf(item.type),
      settings: localSettings(item.settings),
      sql: item.statements.join('\n'),
    };
  });

  const byTable = new Map<string, PostDataStep[]>();
  const tableRefs: TableRef[] = [];
  for (const step of steps) {
    if (!step.table) continue;
    const key = tableKey(step.table.schema, step.table.name);
    let list = byTable.get(key);
    if (!list) {
      list = [];
      byTable.set(key, list);
      tableRefs.push(step.table);
    }
    list.push(step);
  }
  return {
    beforeTables: steps.filter((step) => homes.get(step.id)?.phase === 0),
    tables: tableRefs,
    forTable: (schema, table) => byTable.get(tableKey(schema, table)) ?? [],
    rest: steps.filter((step) => homes.get(step.id)?.phase === 2),
    steps,
    tablesOf: (step) => {
      const items = step.dependsOn.flatMap((id) => {
        const table = tables.get(id);
        return table ? [table] : [];
      });
      return { tables: items.map((t) => ({ schema: t.schema, name: t.name })), partitioned: items.some((t) => t.partitioned) };
    },
  };
}

/** Publication items, and the comments and labels on them. */
export const PUBLICATION_TYPES = new Set(['PUBLICATION', 'PUBLICATION TABLE', 'PUBLICATION TABLES IN SCHEMA']);

/**
 * The post-data items without publications: those are created with the
 * database's own properties, once its content is in (database-properties.ts).
 */
function withoutPublications(items: readonly ScriptItem[]): ScriptItem[] {
  const publications = new Set(items.filter((item) => PUBLICATION_TYPES.has(item.type)).map((item) => item.id));
  return items.filter((item) => !publications.has(item.id) && !(ANNOTATIONS.has(item.type) && item.dependencies.some((dep) => publications.has(dep))));
}

function tableKey(schema: string, table: string): string {
  return JSON.stringify([schema, table]);
}

/** Where an item goes before its dependencies are checked. */
function naturalHome(item: ScriptItem, tables: ReadonlyMap<number, TableItem>, byId: ReadonlyMap<number, ScriptItem>, homes: ReadonlyMap<number, Home>): Home {
  if (ANNOTATIONS.has(item.type)) {
    const about = item.dependencies.filter((dep) => byId.has(dep));
    return about.length === 1 ? homes.get(about[0] as number) ?? REST : REST;
  }
  if (!TABLE_BOUND.has(item.type)) return REST;
  const owners = item.dependencies.filter((dep) => tables.has(dep));
  if (owners.length !== 1) return REST;
  const id = owners[0] as number;
  const table = tables.get(id) as TableItem;
  if (!table.partitioned) return { phase: 1, table: id };
  // Only what touches the parent alone can come first: a check would reach the partitions before their rows.
  const first = outsideQuotes(item.statements[0] ?? '');
  const onlyParent =
    (item.type === 'INDEX' && /^CREATE (UNIQUE )?INDEX (?:"[^"]*"|\S+) ON ONLY /.test(first)) ||
    (item.type === 'CONSTRAINT' && /^ALTER TABLE ONLY /.test(first) && /\sADD CONSTRAINT (?:"[^"]*"|\S+) (PRIMARY KEY|UNIQUE) /.test(first));
  return onlyParent && item.statements.length === 1 ? BEFORE_TABLES : REST;
}

function passOf(type: string): RestorePass {
  if (type === 'ACL' || type === 'ACL LANGUAGE' || type === 'DEFAULT ACL') return 'acl';
  if (type === 'EVENT TRIGGER' || type === 'MATERIALIZED VIEW DATA') return 'post-acl';
  return 'main';
}

/**
 * pg_restore's session settings as `SET LOCAL`: sent in one simple query
 * with the item's statements, they hold for exactly that item's implicit
 * transaction and never leak into the pool's other work.
 */
function localSettings(settings: readonly string[]): string[] {
  return settings.flatMap((statement) => {
    if (/^SET client_encoding = /.test(statement)) {
      // postgres.js speaks UTF-8, and the dump is written in UTF-8 (schema-dump.ts): the same setting.
      if (statement !== "SET client_encoding = 'UTF8';") throw new Error(`the dump is not in UTF-8 (${statement})`);
      return [];
    }
    if (statement.startsWith('SET ')) return [`SET LOCAL ${statement.slice('SET '.length)}`];
    return [statement.replace(/, false\);$/, ', true);')];
  });
}

/** A table item's name and kind, read from its `CREATE TABLE` statement; `undefined` for anything else. */
function tableOf(item: ScriptItem): TableItem | undefined {
  const create = item.statements[0] ?? '';
  const head = /^CREATE (?:UNLOGGED )?TABLE /.exec(create);
  if (!head) return undefined;
  const schema = readIdentifier(create.slice(head[0].length));
  if (!schema || !schema.rest.startsWith('.')) return undefined;
  const name = readIdentifier(schema.rest.slice(1));
  if (!name) return undefined;
  return { schema: schema.name, name: name.name, partitioned: /\)\nPARTITION BY /.test(outsideQuotes(create)) };
}
