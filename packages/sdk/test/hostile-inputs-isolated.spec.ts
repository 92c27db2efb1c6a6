/**
 * The part of the bad-input corpus (see hostile-inputs.spec.ts) whose inputs
 * could hang, call process.exit or exhaust memory: each command runs in a child
 * Node process on the sources (same CLI entry), killed if it hangs, with its own
 * time and peak-memory measured. A separate file so that vitest runs it beside
 * the in-process cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCases, makeRoot } from "./hostile/hostile-case.js";
import { CHILD_KILL_MS, runCase } from "./hostile/run-case.js";

const cases = loadCases();
let root: { root: string; remove: () => void };
beforeAll(() => { root = makeRoot(); });
afterAll(() => root.remove());

/** The problems, one per line, as the failure message. */
const report = (problems: readonly string[]): string => `\n  ${problems.join("\n  ")}\n`;

describe.concurrent("bad-input corpus, in child processes", () => {
  for (const c of cases.filter((x) => x.spec.isolate === true)) {
    it(`${c.spec.group}/${c.name}: ${c.spec.description}`, async () => {
      const problems = await runCase(c, root.root);
      expect(problems, report(problems)).toEqual([]);
    }, 4 * CHILD_KILL_MS);
  }
});
