/** The harness in use: every test under examples/test-harness runs against its own copy of the seed. */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['*.spec.ts'],
    globalSetup: ['./global-setup.ts'],
  },
});
