/**
 * The bad-input corpus (test/fixtures/hostile/, issue #16): every case runs
 * through the real CLI entry (`validate`, `plan --offline`, `import`, as its
 * expect.json lists), with --json and as text, and must give the expected exit
 * code, error code and path, with no stack trace and no SDX_INTERNAL, within
 * bounded time and memory. Inputs that could hang, call process.exit or
 * exhaust memory run in hostile-inputs-isolated.spec.ts, in child processes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCases, makeRoot } from "./hostile/hostile-case.js";
import { IN_PROCESS_TEST_TIMEOUT_MS, runCase } from "./hostile/run-case.js";

const cases = loadCases();
let root: { root: string; remove: () => void };
beforeAll(() => { root = makeRoot(); });
afterAll(() => root.remove());

/** The problems, one per line, as the failure message. */
const report = (problems: readonly string[]): string => `\n  ${problems.join("\n  ")}\n`;

describe("bad-input corpus (test/fixtures/hostile)", () => {
  it("holds at least 100 cases, each with an expectation per command it runs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    for (const c of cases) {
      expect(Object.keys(c.expect).length, c.name).toBeGreaterThan(0);
      expect(c.spec.description, c.name).toBeTruthy();
    }
  });

  for (const c of cases.filter((x) => x.spec.isolate !== true)) {
    it(`${c.spec.group}/${c.name}: ${c.spec.description}`, async () => {
      const problems = await runCase(c, root.root);
      expect(problems, report(problems)).toEqual([]);
    }, IN_PROCESS_TEST_TIMEOUT_MS);
  }
});
