import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run on sources: every workspace package name resolves to its src/ entry, so no build is needed.
// `@oppu/<name>` is packages/<name>/src/index.ts (the playground is an app and is imported by nobody).
export const alias = [
  { find: /^@oppu\/([a-z0-9-]+)$/, replacement: `${src('./packages/')}$1/src/index.ts` },
  // Subpath exports (`@oppu/trainer/kernels`) are `src/<subpath>/index.ts`.
  { find: /^@oppu\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${src('./packages/')}$1/src/$2/index.ts` },
];

const project = (name: string, include: string[]) => ({
  extends: true as const,
  test: { name, include },
});

export default defineConfig({
  resolve: { alias },
  test: {
    pool: 'forks',
    // The JSON report is what .ci/run counts ("N passed, N failed").
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      project('packages/contracts', ['packages/contracts/src/**/*.test.ts']),
      project('packages/core', ['packages/core/src/**/*.test.ts']),
      project('packages/cli', ['packages/cli/src/**/*.test.ts']),
      project('packages/trainer', ['packages/trainer/src/**/*.test.ts']),
      project('packages/retriever', ['packages/retriever/src/**/*.test.ts']),
      project('packages/bot-discord', ['packages/bot-discord/src/**/*.test.ts']),
      project('packages/node', ['packages/node/src/**/*.test.ts']),
      project('packages/model-tiny', ['packages/model-tiny/src/**/*.test.ts']),
      project('packages/langchain', ['packages/langchain/src/**/*.test.ts']),
      project('packages/queue', ['packages/queue/src/**/*.test.ts']),
      project('apps/playground', ['apps/playground/src/**/*.test.ts']),
      project('tests', ['tests/**/*.test.ts']),
      project('bench', ['bench/**/*.test.ts']),
    ],
  },
});
