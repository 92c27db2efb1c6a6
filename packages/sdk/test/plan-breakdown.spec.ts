// `sdx plan --breakdown` end to end: the flag, the API formatter it turns on,
// and $COLUMNS, on examples/shop priced from the embedded catalog.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseCli } from "../src/cli/parse-cli.js";
import { runCli } from "../src/cli/run-cli.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const SHOP = join(ROOT, "examples/shop/sdx.yaml");
const BIN = join(ROOT, "packages/sdk/bin/sdx.js");

async function sdx(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: () => {}, interactive: false, confirm: async () => false, env: { SDX_RESOLVE_IMAGES: "0", ...env } });
  return { code, stdout };
}

/** The breakdown sections of a plan's text: they follow the cost table, before the first target's changes ("Target <name> (…"). */
function breakdowns(stdout: string): string[] {
  const start = stdout.indexOf("\nCost breakdown of ");
  if (start < 0) return [];
  const end = stdout.indexOf("\nTarget ", start);
  return stdout.slice(start + 1, end < 0 ? undefined : end).trim().split(/\n\n(?=Cost breakdown of )/);
}

describe("sdx plan --breakdown", () => {
  it("is a plan flag, off by default", () => {
    expect(parseCli(["plan", "--breakdown", "examples/shop"])).toMatchObject({ command: "plan", breakdown: true, file: "examples/shop" });
    expect(parseCli(["plan"])).toMatchObject({ command: "plan", breakdown: false });
  });

  it("breaks down the planned target per service with bars and per line with provenance", async () => {
    const r = await sdx(["plan", SHOP, "--offline", "-t", "ecs", "--breakdown"]);
    expect(r.code).toBe(0);
    const [ecs, ...others] = breakdowns(r.stdout);
    expect(others).toEqual([]);
    expect(ecs).toMatch(/^Cost breakdown of ecs: \$[\d,.]+\/month \(fargate/);
    expect(ecs).toMatch(/\n {2}SERVICE +\$\/MONTH +SHARE\n/);
    // Every service of the shop has a row with a bar; the biggest has the full 24 characters.
    for (const s of ["web", "api", "worker", "quotes"]) expect(ecs).toMatch(new RegExp(`\\n {2}${s} +\\$[\\d.]+ +\\d+%  [█▏▎▍▌▋▊▉]+\\n`));
    expect(ecs).toMatch(/\n {2}\S+ +\$[\d.]+ +\d+% {2}█{24}\n/);
    expect(ecs).toMatch(/\n {2}SERVICE +ITEM +QUANTITY × UNIT PRICE +\$\/MONTH +AS OF +SOURCE\n/);
    expect(ecs).toMatch(/\n {2}api +Fargate vCPU \(on-demand\) +2 vCPU × \$0\.\d+\/h +\$[\d.]+ +\d{4}-\d\d-\d\d +\S+/);
    // The breakdown comes before the target's changes; without the flag it is not printed.
    expect(r.stdout.indexOf("Cost breakdown of ecs")).toBeLessThan(r.stdout.indexOf("Target ecs ("));
    expect((await sdx(["plan", SHOP, "--offline", "-t", "ecs"])).stdout).not.toContain("Cost breakdown");
  });

  it("breaks down every target with -t all, each within $COLUMNS", async () => {
    const r = await sdx(["plan", SHOP, "--offline", "-t", "all", "--breakdown"], { COLUMNS: "72" });
    expect(r.code).toBe(0);
    const sections = breakdowns(r.stdout);
    expect(sections.map((s) => /^Cost breakdown of (\S+):/.exec(s)![1]).sort()).toEqual(["ecs", "k8s", "swarm"]);
    for (const l of sections.join("\n").split("\n")) expect([...l].length, l).toBeLessThanOrEqual(72);
    // Too narrow for the full line table: each line's date and source move under it.
    expect(sections.join("\n")).toMatch(/\n {6}as of \d{4}-\d\d-\d\d: \S/);
  });

  it("runs as the installed binary does: node packages/sdk/bin/sdx.js (dist, built by npm run build)", async () => {
    expect(existsSync(join(ROOT, "packages/sdk/dist/cli/run-cli.js")), "packages/sdk/dist is missing: run `npm run build` first").toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, "plan", "--offline", "--breakdown", "examples/shop/sdx.yaml"], { cwd: ROOT, env: { ...process.env, SDX_RESOLVE_IMAGES: "0", COLUMNS: "" } });
    expect(stdout).toMatch(/\nCost breakdown of \S+: \$[\d,.]+\/month/);
    expect(stdout).toMatch(/\n {2}SERVICE +\$\/MONTH +SHARE\n/);
  }, 60_000);
});
