// `sdx prices` and `sdx plan --budget` end to end, as the installed binary runs
// them (node packages/sdk/bin/sdx.js, which runs dist/: `npx tsc -b` first):
// no empty price table with exit 0, no budget passed without a price, the real
// cause of a refused arm64 service, and stale-price warnings in --json too.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ContainerModule } from "inversify";
import { describe, expect, it } from "vitest";
import { backendModule, createSdxContainer, TOKENS } from "@sdx/sdk/di";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend } from "./memory-backend.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const BIN = join(ROOT, "packages/sdk/bin/sdx.js");
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/pricing-cli/${name}/sdx.yaml`, import.meta.url));
const HELLO = join(ROOT, "examples/hello/sdx.yaml");
const DAY_MS = 86_400_000;

interface Diag { readonly code: string; readonly severity: string; readonly message: string; readonly hint?: string }

/** Runs the binary with an empty price cache (a developer's own `sdx prices refresh` must not change the outcome). */
function sdx(argv: readonly string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...argv], {
    cwd: ROOT, encoding: "utf8", timeout: 30_000,
    env: { ...process.env, SDX_RESOLVE_IMAGES: "0", SDX_CACHE_DIR: mkdtempSync(join(tmpdir(), "sdx-h5-cache-")), SDX_PRICES_MAX_AGE_DAYS: "100000", ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whole days since an ISO date, as the warning counts them; read before and after a run, so midnight cannot flake. */
const ageDays = (asOf: string): number => Math.floor((Date.now() - Date.parse(asOf)) / DAY_MS);

describe("sdx CLI binary (dist)", () => {
  it("is built", () => {
    expect(existsSync(join(ROOT, "packages/sdk/dist/cli/run-cli.js")), "packages/sdk/dist is missing: run `npx tsc -b` first").toBe(true);
  });
});

describe("sdx prices: an empty result is an error", () => {
  it("Fargate in a region with EC2 prices but no Fargate rates: exit 2, which regions have them, how to refresh", () => {
    // A fresh `sdx prices refresh` cache for a region with EC2 prices and no Fargate rates: the case of
    // eu-central-1 in the embedded catalog, kept independent of which regions the catalog covers.
    const cache = mkdtempSync(join(tmpdir(), "sdx-h5-cache-"));
    const now = Date.now();
    writeFileSync(join(cache, "prices-zz-test-1.json"), JSON.stringify({
      format: "sdx-price-cache", version: 1, region: "zz-test-1",
      fetchedAt: new Date(now - 3_600_000).toISOString(), expiresAt: new Date(now + 7 * DAY_MS).toISOString(),
      ec2: [{ instanceType: "m6i.large", vcpus: 2, memoryGiB: 8, arch: "amd64", onDemandUsd: 0.1, sku: "TEST" }], fargate: [],
    }));
    // The region is known: its EC2 type is listed.
    const ec2 = sdx(["prices", "aws", "zz-test-1", "m6i.large", "--json"], { SDX_CACHE_DIR: cache });
    expect(ec2.code, ec2.stderr).toBe(0);
    expect(JSON.parse(ec2.stdout).rows).toMatchObject([{ item: "m6i.large", onDemandUsd: 0.1 }]);

    const text = sdx(["prices", "aws", "zz-test-1", "fargate"], { SDX_CACHE_DIR: cache });
    expect(text.code).toBe(2);
    expect(text.stdout).toBe("");
    expect(text.stderr).toMatch(/^sdx: SDX_PRICING: no Fargate prices for zz-test-1\n {2}hint: The embedded catalog has Fargate rates for [a-z0-9-]+(, [a-z0-9-]+)*; run `sdx prices refresh --region zz-test-1` with AWS credentials to fetch zz-test-1's\.\n$/);
    expect(text.stderr).toContain("us-east-1");

    const json = sdx(["prices", "aws", "zz-test-1", "fargate", "--json"], { SDX_CACHE_DIR: cache });
    expect(json.code).toBe(2);
    const err = JSON.parse(json.stdout).error as { code: string; fault: string; message: string; details: { fargateRegions: string[] } };
    expect(err).toMatchObject({ code: "SDX_PRICING", fault: "user", message: "no Fargate prices for zz-test-1" });
    expect(err.details.fargateRegions).toContain("us-east-1");
    expect(err.details.fargateRegions).not.toContain("zz-test-1");
  });

  it("eu-central-1 fargate (the case the external check found) is never an empty table with exit 0", () => {
    const r = sdx(["prices", "aws", "eu-central-1", "fargate", "--json"]);
    const j = JSON.parse(r.stdout) as { rows?: unknown[]; error?: { code: string } };
    if (r.code === 0) expect(j.rows!.length).toBeGreaterThan(0);
    else expect([r.code, j.error?.code]).toEqual([2, "SDX_PRICING"]);
  });

  it("an unknown region is input to fix: exit 2 with did-you-mean", () => {
    const r = sdx(["prices", "aws", "us-east-9"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sdx: SDX_PRICING: unknown aws region "us-east-9"\n {2}hint: Did you mean us-east-1/);
  });
});

describe("stale-price warnings are in --json as in the text output", () => {
  it("sdx prices: SDX_PRICES_STALE in diagnostics and on stderr, with the row's date; none within the limit", () => {
    const fresh = sdx(["prices", "aws", "us-east-1", "m6i.large", "--json"]);
    expect(fresh.code).toBe(0);
    const f = JSON.parse(fresh.stdout) as { rows: { provenance: { source: string; asOf: string }; spotProvenance?: { source: string; asOf: string } }[]; diagnostics: Diag[] };
    expect(f.diagnostics).toEqual([]);
    const dates = f.rows.flatMap((x) => [x.provenance, x.spotProvenance ?? x.provenance]).filter((p) => p.source.startsWith("embedded-catalog/")).map((p) => p.asOf).sort();
    expect(dates.length, "m6i.large in us-east-1 is priced from the embedded catalog").toBeGreaterThan(0);
    const oldest = dates[0]!;
    const before = ageDays(oldest);
    expect(before, `${oldest} must be over 1 day old for this test`).toBeGreaterThan(1);

    const json = sdx(["prices", "aws", "us-east-1", "m6i.large", "--json"], { SDX_PRICES_MAX_AGE_DAYS: "1" });
    const text = sdx(["prices", "aws", "us-east-1", "m6i.large"], { SDX_PRICES_MAX_AGE_DAYS: "1" });
    const after = ageDays(oldest);
    expect([json.code, text.code]).toEqual([0, 0]);
    const stale = (JSON.parse(json.stdout) as { diagnostics: Diag[] }).diagnostics;
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ code: "SDX_PRICES_STALE", severity: "warning" });
    expect([before, after].map((d) => `prices for aws us-east-1 come from the embedded catalog, as old as ${oldest} (${d} days; the limit is 1)`)).toContain(stale[0]!.message);
    expect(text.stderr).toContain(`warning SDX_PRICES_STALE: ${stale[0]!.message}\n    hint: Run \`sdx prices refresh --region us-east-1\``);
    expect(text.stdout).toMatch(/^ITEM .*\nm6i\.large /);
  });

  it("sdx plan --json: the estimator's SDX_PRICES_STALE is in diagnostics, as on stderr without --json", () => {
    const json = sdx(["plan", "--offline", HELLO, "--json"], { SDX_PRICES_MAX_AGE_DAYS: "1" });
    expect(json.code, json.stderr).toBe(0);
    const diags = (JSON.parse(json.stdout) as { diagnostics: Diag[] }).diagnostics.filter((d) => d.code === "SDX_PRICES_STALE");
    expect(diags).toHaveLength(1);
    expect(diags[0]!.message).toMatch(/^prices for .* come from the embedded catalog, as old as \d{4}-\d\d-\d\d \(\d+ days; the limit is 1\)$/);
    const text = sdx(["plan", "--offline", HELLO], { SDX_PRICES_MAX_AGE_DAYS: "1" });
    expect(text.stderr).toContain(`warning SDX_PRICES_STALE: ${diags[0]!.message}`);
    // Within the limit: no warning in either.
    const quiet = sdx(["plan", "--offline", HELLO, "--json"]);
    expect((JSON.parse(quiet.stdout) as { diagnostics: Diag[] }).diagnostics.map((d) => d.code)).not.toContain("SDX_PRICES_STALE");
  });
});

describe("sdx plan --budget without a price", () => {
  const NOT_PRICED = "sdx: SDX_BUDGET_UNPRICED: no priced target to compare with the budget of $1/month: k8s could not be priced (target k8s (kubernetes) has no pricing profile";

  it("fails (exit 1, as over budget) when the target could not be priced; passes without --budget", () => {
    const app = fixture("unpriced");
    const plain = sdx(["plan", "--offline", app]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("No target could be priced.");

    const text = sdx(["plan", "--offline", app, "--budget", "1"]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(NOT_PRICED);
    expect(text.stderr).toContain("  hint: Make k8s priceable (see the reason), pick a priced target with --target, or drop --budget.\n");
    // The plan is still shown: the budget is what failed, not the preview.
    expect(text.stdout).toContain("Target k8s (Kubernetes, render only");

    const json = sdx(["plan", "--offline", app, "--budget", "1", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ target: "k8s", estimates: [], rejected: [{ target: "k8s" }] });
    expect(json.stderr).toContain(NOT_PRICED);
  });

  it("still compares a priced target with the budget: within passes, over fails", () => {
    expect(sdx(["plan", "--offline", HELLO, "-t", "local", "--budget", "100000"]).code).toBe(0);
    const over = sdx(["plan", "--offline", HELLO, "-t", "local", "--budget", "1"]);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/^sdx: local costs \$\d+\.\d\d\/month, over the budget of \$1\/month$/m);
    expect(over.stderr).not.toContain("SDX_BUDGET_UNPRICED");
  });
});

describe("sdx deploy --budget without a price", () => {
  const memApp = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
  async function deploy(container: ReturnType<typeof createSdxContainer>, backend: ReturnType<typeof createMemoryBackend>, ...flags: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runCli(["deploy", memApp, "--yes", ...flags], {
      stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, interactive: false, confirm: async () => true,
      env: { MEMSHOP_TOKEN: "tok" }, container,
    });
    return { code, stdout, stderr, objects: backend.store.size };
  }

  it("refuses before changing anything, with the estimator's reason", async () => {
    const backend = createMemoryBackend();
    const estimator = { estimate: async () => ({ estimates: [], rejected: [{ target: "mem", reason: "an in-memory store has no price" }], diagnostics: [] }) };
    const container = createSdxContainer({
      builtins: false, runtime: { env: { MEMSHOP_TOKEN: "tok" } },
      modules: [backendModule(backend), new ContainerModule(({ bind }) => { bind(TOKENS.CostEstimatorProvider).toConstantValue({ load: () => estimator }); })],
    });
    const r = await deploy(container, backend, "--budget", "100");
    expect([r.code, r.objects]).toEqual([1, 0]);
    expect(r.stderr).toContain("sdx: SDX_BUDGET_UNPRICED: no priced target to compare with the budget of $100/month: mem could not be priced (an in-memory store has no price)\n");
    // Without a budget the same deploy goes ahead.
    expect(await deploy(container, backend)).toMatchObject({ code: 0, objects: 2 });
  });

  it("says so when no estimator is installed", async () => {
    const backend = createMemoryBackend();
    const container = createSdxContainer({ builtins: false, runtime: { env: { MEMSHOP_TOKEN: "tok" } }, modules: [backendModule(backend)] });
    const r = await deploy(container, backend, "--budget", "100", "--json");
    expect([r.code, r.objects]).toEqual([1, 0]);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: "SDX_BUDGET_UNPRICED", fault: "user", hint: "Install @sdx/pricing to price targets, or drop --budget.", details: { target: "mem", budget: 100 } } });
  });
});

describe("a Swarm target refusing an arm64 service names the architecture", () => {
  it("in plan's rejected reasons (text and --json), without blaming system overhead", () => {
    const app = fixture("arm64");
    const json = sdx(["plan", "--offline", app, "-t", "local", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const reason = (JSON.parse(json.stdout) as { rejected: { target: string; reason: string }[] }).rejected.find((r) => r.target === "local")!.reason;
    expect(reason).toMatch(/^web runs on arm64 \(placement\.arch\) but target local has no arm64 node type, only amd64 \(t3\.medium amd64\)\. Add [a-z0-9]+g[a-z]*\.[a-z0-9]+ \(.*arm64 type in us-east-1 that fits 0\.25 vCPU \/ 256 MiB\) to pricing\.nodeTypes, or set web's placement\.arch to amd64 if its image runs there\.$/);
    expect(reason).not.toContain("overhead");
    const text = sdx(["plan", "--offline", app, "-t", "local"]);
    expect(text.stdout).toContain("web runs on arm64 (placement.arch) but target local has no arm64 node type");
    expect(text.stdout).not.toContain("overhead");
  });
});
