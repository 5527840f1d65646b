/** The harness in use: every test under examples/test-harness runs against its own copy of the seed. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Installed, the package resolves by its name; in this repository, to its sources.
  resolve: { alias: [{ find: /^datalakehouse-db-migrate$/, replacement: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) }] },
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['*.spec.ts'],
    globalSetup: ['./global-setup.ts'],
  },
});
