import { defineConfig } from 'vitest/config';

// Two projects: the whole suite with the native addon (when built), and the elementwise, reduction
// and JIT suites again without it (KEEL_NO_NATIVE=1), so the JavaScript kernels that machines
// without a compiler run stay tested on this one too.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      { extends: true, test: { name: 'keel', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'javascript-kernels',
          include: [
            'test/ops/elementwise.test.ts',
            'test/ops/reduction.test.ts',
            'test/ops/nn.test.ts',
            'test/ops/conv.test.ts',
            'test/ops/layout.test.ts',
            'test/jit/*.test.ts',
            'test/tensor/leaks.test.ts',
            'test/backend/buffer-pool.test.ts',
          ],
          env: { KEEL_NO_NATIVE: '1' },
        },
      },
    ],
  },
});
