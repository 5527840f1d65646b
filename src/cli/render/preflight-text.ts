/**
 * A preflight report as text: both servers, every check, what to fix,
 * and the plan per database.
 *
 * @module
 */
import type { CheckResult, DatabasePlan, PreflightReport, ServerSummary } from '../../index.js';
import { renderTable } from './table.js';

export function renderPreflight(report: PreflightReport): string {
  const sections = [
    renderTable(
      ['CLUSTER', 'VERSION', 'WAL_LEVEL', 'USER'],
      [server('source', report.source), server('target', report.target)],
    ),
    report.pgDump ? `${report.pgDump.version} in ${report.pgDump.binDir}` : 'pg_dump: not found',
    renderTable(['CHECK', 'RESULT', 'SCOPE', 'MESSAGE'], report.checks.map((c) => [c.id, c.status, scopeOf(c), c.message])),
  ];
  const toFix = report.checks.filter((c) => c.status !== 'pass' && c.hint);
  if (toFix.length > 0) sections.push(['To fix:', ...toFix.map((c) => `  ${c.id}${scopeOf(c) ? ` (${scopeOf(c)})` : ''}: ${c.hint}`)].join('\n'));
  sections.push(renderPlan(report.databases));
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  sections.push(report.ok ? 'Preflight passed.' : `Preflight failed: ${failed} check${failed === 1 ? '' : 's'} failed.`);
  return sections.join('\n\n');
}

export function renderPlan(databases: readonly DatabasePlan[]): string {
  return renderTable(
    ['DBNAME', 'METHOD', 'ACTION', 'NOTES'],
    databases.map((d) => [d.dbname, d.method ?? '-', d.action, notesOf(d)]),
  );
}

function server(side: string, summary: ServerSummary): string[] {
  return [side, summary.version, summary.walLevel, `${summary.username}${summary.superuser ? ' (superuser)' : ''}`];
}

function scopeOf(check: CheckResult): string {
  return [check.side, check.database].filter((part) => part !== undefined).join('/');
}

function notesOf(plan: DatabasePlan): string {
  if (plan.blockers.length > 0) return plan.blockers.join('; ');
  if (plan.method === 'pg_dump' && plan.replicationBlockers.length > 0) return `not replicated: ${plan.replicationBlockers.join('; ')}`;
  return '';
}
