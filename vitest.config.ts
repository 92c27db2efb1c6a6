import { defineConfig } from "vitest/config";

// Tests run against TypeScript sources through the "sdx-source" export
// condition, so `npm test` does not depend on a stale dist/.
const conditions = ["sdx-source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    // Tests never ask real registries for image digests (no traffic off loopback);
    // the one test of resolution turns it on against a fake registry on 127.0.0.1.
    env: { SDX_RESOLVE_IMAGES: "0" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.spec.ts", "packages/*/test/**/*.spec.ts", "examples/**/*.spec.ts"],
          exclude: ["**/*.integ.spec.ts", "**/node_modules/**", "**/dist/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["packages/*/src/**/*.integ.spec.ts", "packages/*/test/**/*.integ.spec.ts", "examples/**/*.integ.spec.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          // Real backends: one suite at a time, generous timeouts for rollouts.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
