/**
 * The package as a user gets it: packed from a copy of the checkout (so the
 * checkout's own dist/ is never rebuilt under another test), installed into a
 * fresh project, then imported, required, type-checked and run from there.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const checkout = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as {
  name: string;
  bin?: string | Record<string, string>;
};
const bins: Record<string, string> =
  typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : { ...manifest.bin };

/** Files and directories of the checkout that are neither sources of the package nor of its build. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', '.scratch', 'docs/api', 'bench/results']);

interface Shell {
  stdout: string;
  stderr: string;
}

/** Runs a command; a failure carries its whole output, so a broken package says why. */
async function sh(file: string, args: readonly string[], cwd: string): Promise<Shell> {
  try {
    return await run(file, [...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  } catch (error) {
    const { stdout = '', stderr = '', message } = error as Error & Partial<Shell>;
    throw new Error(`${message}\n${stdout}\n${stderr}`);
  }
}

function npmBin(name: string): string {
  return join(checkout, 'node_modules', '.bin', name);
}

/** Relative link targets of a markdown file: `[text](target)`, without anchors or absolute URLs. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!.split('#')[0]!)
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('the published package', () => {
  let work: string;
  let tarball: string;
  let shipped: string[];
  let project: string;
  let installed: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'dlh-package-'));
    const copy = join(work, 'checkout');
    cpSync(checkout, copy, {
      recursive: true,
      filter: (path) => {
        const inside = relative(checkout, path).split('\\').join('/');
        return !NOT_COPIED.has(inside) && !inside.endsWith('.tgz');
      },
    });
    symlinkSync(join(checkout, 'node_modules'), join(copy, 'node_modules'));
    await sh('npm', ['run', 'build'], copy);
    const { stdout } = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], copy);
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, packed!.filename);
    shipped = packed!.files.map((file) => file.path);

    project = join(work, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // The dependencies come from npm's cache when it has them, as after `npm ci`.
    await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    installed = join(project, 'node_modules', manifest.name);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs from an ES module, on its ES module build', async () => {
    const script = `
      import { Migrator } from '${manifest.name}';
      const result = await new Migrator({ source: 'postgres://u@127.0.0.1/db', target: 42 }).preflight();
      console.log(JSON.stringify({ kind: result.isErr() ? result.error.kind : 'none', from: import.meta.resolve('${manifest.name}') }));
    `;
    const { stdout } = await sh(process.execPath, ['--input-type=module', '-e', script], project);
    const answer = JSON.parse(stdout) as { kind: string; from: string };
    expect(answer.kind).toBe('options');
    expect(fileURLToPath(answer.from)).toBe(join(installed, 'dist', 'index.js'));
  });

  it('runs from CommonJS through require, on its CommonJS build', async () => {
    const script = `
      const { Migrator } = require('${manifest.name}');
      new Migrator({ source: 'postgres://u@127.0.0.1/db', target: 42 }).preflight().then((result) => {
        console.log(JSON.stringify({ kind: result.isErr() ? result.error.kind : 'none', from: require.resolve('${manifest.name}') }));
      });
    `;
    const { stdout } = await sh(process.execPath, ['--input-type=commonjs', '-e', script], project);
    const answer = JSON.parse(stdout) as { kind: string; from: string };
    expect(answer.kind).toBe('options');
    expect(answer.from).toBe(join(installed, 'dist', 'cjs', 'index.js'));
  });

  it('type-checks a strict consumer under module nodenext, as an ES module (.ts) and as CommonJS (.cts)', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { CHECK_IDS, METHODS, Migrator, type CheckId, type MethodOption, type MigrationError } from '${manifest.name}';

const method: MethodOption = METHODS[0] ?? 'auto';
const migrator = new Migrator({ source: 'postgres://u@old/postgres', target: 'postgres://u@new/postgres', method });
const report = await migrator.preflight();
const failed: CheckId[] = report.isOk() ? report.value.checks.filter((check) => check.status === 'fail').map((check) => check.id) : [];
const known: readonly CheckId[] = CHECK_IDS;
const kind: MigrationError['kind'] | undefined = report.isErr() ? report.error.kind : undefined;
migrator.on('progress', (event) => console.log(event.type));
console.log(failed, known, kind);
await migrator.close();
`,
    );
    writeFileSync(
      join(project, 'consumer.cts'),
      `import { Migrator, type MigrationError } from '${manifest.name}';
import library = require('${manifest.name}');

const migrator: library.Migrator = new Migrator({ source: 'postgres://u@old/postgres', target: 'postgres://u@new/postgres' });
void migrator.preflight().match(
  (report) => console.log(report.ok),
  (error: MigrationError) => console.log(error.kind, error.hint),
);
`,
    );
    const tsc = join(checkout, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = join(checkout, 'node_modules', '@types');
    const args = ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--noEmit', '--typeRoots', typeRoots, '--types', 'node'];
    const { stdout } = await sh(process.execPath, [tsc, ...args, '--listFiles', 'consumer.ts', 'consumer.cts'], project);
    // Each module system gets its own declarations.
    const entries = stdout.split('\n').filter((file) => file.startsWith(installed) && file.endsWith('index.d.ts'));
    expect(entries.sort()).toEqual([join(installed, 'dist', 'cjs', 'index.d.ts'), join(installed, 'dist', 'index.d.ts')]);
  });

  it('runs each of its commands with --help', async () => {
    for (const name of Object.keys(bins)) {
      const { stdout, stderr } = await sh(join(project, 'node_modules', '.bin', name), ['--help'], project);
      expect(`${stdout}${stderr}`, name).toContain(name);
    }
  });

  it('builds every module of src/ for both module systems, without source maps pointing at sources it does not ship', () => {
    const modules: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(checkout, 'src', dir), { withFileTypes: true })) {
        const path = posix.join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) modules.push(path.replace(/\.ts$/, ''));
      }
    };
    walk('');
    for (const module of modules) {
      expect(shipped).toContain(`dist/${module}.js`);
      expect(shipped).toContain(`dist/${module}.d.ts`);
    }
    expect(shipped).toContain('dist/cjs/index.js');
    expect(shipped).toContain('dist/cjs/index.d.ts');
    expect(JSON.parse(readFileSync(join(installed, 'dist', 'cjs', 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    expect(shipped.filter((path) => path.endsWith('.map'))).toEqual([]);
    expect(shipped.filter((path) => /^(src|test|bench)\//.test(path) || path.startsWith('docs/api/'))).toEqual([]);
    for (const path of shipped.filter((p) => p.endsWith('.js'))) {
      expect(readFileSync(join(installed, path), 'utf8'), path).not.toContain('sourceMappingURL');
    }
  });

  it('ships its license, and names its repository, home page and issue tracker', () => {
    expect(shipped).toContain('LICENSE');
    const license = readFileSync(join(installed, 'LICENSE'), 'utf8');
    expect(license).toContain('Apache License');
    expect(license).toContain('Version 2.0, January 2004');
    expect(license).toMatch(/Copyright \d{4} the datalakehouse-db-migrate authors/);
    const published = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(published).toMatchObject({
      license: 'Apache-2.0',
      repository: { type: 'git', url: expect.stringMatching(/github\.com\/datalakehouse\/datalakehouse-db-migrate/) },
      homepage: expect.stringMatching(/^https:\/\/github\.com\/datalakehouse\/datalakehouse-db-migrate/),
      bugs: { url: expect.stringMatching(/^https:\/\/github\.com\/datalakehouse\/datalakehouse-db-migrate\/issues/) },
    });
  });

  it('ships every file its documents link to', () => {
    const broken: string[] = [];
    for (const document of shipped.filter((path) => path.endsWith('.md'))) {
      for (const target of relativeLinks(readFileSync(join(installed, document), 'utf8'))) {
        const path = posix.normalize(posix.join(posix.dirname(document), target)).replace(/\/$/, '');
        const found = shipped.includes(path) || shipped.some((file) => file.startsWith(`${path}/`));
        if (!found) broken.push(`${document} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
    expect(shipped.filter((path) => path.endsWith('.md'))).toContain('README.md');
  });

  it('passes publint', async () => {
    const { stdout } = await sh(npmBin('publint'), ['run', tarball, '--strict'], project);
    expect(stdout).toContain('All good');
  });

  it('has types that resolve in node10, node16 from CommonJS and from ES modules, and bundlers (are the types wrong)', async () => {
    const { stdout } = await sh(npmBin('attw'), [tarball, '--profile', 'strict', '--no-definitely-typed', '--format', 'json'], project);
    const analysis = JSON.parse(stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, { resolutions: Record<string, unknown> }> } };
    expect(analysis.analysis.problems).toEqual([]);
    expect(Object.keys(analysis.analysis.entrypoints['.']?.resolutions ?? {}).sort()).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm']);
  });
});
