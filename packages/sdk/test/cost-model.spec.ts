import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { plan, type CostModel } from "@sdx/sdk";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { runCli } from "../src/cli/run-cli.js";
import { createMemoryBackend } from "./memory-backend.js";

// A third-party kind priced by the cost model its backend declares, through the
// container and the API (the built-in estimator, @sdx/pricing, does the pricing).
const fixture = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
const shop = fileURLToPath(new URL("../../../examples/shop/sdx.yaml", import.meta.url));
const env = { MEMSHOP_TOKEN: "tok-123-secret" };
const container = (costModel?: CostModel | null) => createSdxContainer({ modules: [backendModule(createMemoryBackend(costModel === undefined ? {} : { costModel }))], runtime: { env } });

/** memory-shop with a pricing profile on its target, as a node-packed kind would have. */
function withNodeTypes(): string {
  const file = join(mkdtempSync(join(tmpdir(), "sdx-cost-model-")), "sdx.yaml");
  writeFileSync(file, readFileSync(fixture, "utf8").replace("    bucket: test\n", "    bucket: test\n    pricing: { provider: aws, region: us-east-1, nodeTypes: [m6i.large] }\n"));
  return file;
}

async function targetsText(argv: string[], c?: ReturnType<typeof container>): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const code = await runCli(argv, { stdout: (t) => { stdout += t; }, stderr: () => {}, interactive: false, confirm: async () => false, env, ...(c ? { container: c } : {}) });
  return { code, stdout };
}

describe("pricing dispatches on the backend's cost model", () => {
  it("prices a third-party kind with a flat model at its declared price", async () => {
    const r = await plan(fixture, { container: container({ kind: "flat", monthlyUsd: 40, description: "the in-memory rack" }), offline: true, target: "mem" });
    const mem = r.estimates!.estimates[0]!;
    expect(mem).toMatchObject({ target: "mem", backend: "memory", capacity: "flat rate", monthlyUsd: 40 });
    expect(mem.lines.map((l) => [l.item, l.provenance.source])).toEqual([["the in-memory rack", "declared by the memory backend"]]);
  });

  it("leaves a kind without a cost model unpriced with the reason, even with node types (never Kubernetes nodes)", async () => {
    const file = withNodeTypes();
    const r = await plan(file, { container: container(null), offline: true, target: "mem" });
    expect(r.estimates!.estimates).toEqual([]);
    expect(r.estimates!.rejected).toEqual([{ target: "mem", reason: "target mem (memory) cannot be priced: the memory backend declares no cost model" }]);
    await expect(plan(file, { container: container(null), offline: true, target: "cheapest" })).rejects.toMatchObject({ code: "SDX_NO_CANDIDATE", message: expect.stringMatching(/the memory backend declares no cost model/) });
  });

  it("prices a tasks model at the size its own size function bills", async () => {
    // memory-shop: web 2 and worker 1 replicas at the defaults (250m / 256 MiB), billed here as whole vCPUs in 2 GB steps:
    // 3 × (1 vCPU × $0.04048 + 2 GB × $0.004445) on us-east-1 Fargate on-demand rates.
    const size = (cpuMillis: number, memoryMiB: number) => ({ cpuMillis: Math.ceil(cpuMillis / 1000) * 1000, memoryMiB: Math.ceil(memoryMiB / 2048) * 2048 });
    const r = await plan(fixture, { container: container({ kind: "tasks", rates: "fargate", provider: "aws", region: "us-east-1", spot: false, size }), offline: true, target: "mem" });
    const mem = r.estimates!.estimates[0]!;
    expect(mem.hourlyUsd).toBeCloseTo(3 * (0.04048 + 2 * 0.004445), 12);
    expect(mem.assumptions).toContain("web: requests 0.25 vCPU / 256 MiB, billed as the Fargate size 1 vCPU / 2 GB");
  });
});

describe("sdx targets: the pricing basis comes from each backend's cost model", () => {
  it("names node types for node-packed kinds and the rate family for per-task kinds", async () => {
    const r = await targetsText(["targets", shop]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").map((l) => l.trimEnd())).toEqual([
      "TARGET  KIND        PRICING",
      "k8s     kubernetes  aws us-east-1 m6i.large,m6i.xlarge (nodes)",
      "swarm   swarm       aws us-east-1 t3.large (nodes)",
      "ecs     ecs         aws fargate us-east-1",
      "",
    ]);
  });

  it("shows a flat rate, a declared reason, and a backend without a cost model", async () => {
    const basis = async (m: CostModel | null | undefined) => (await targetsText(["targets", fixture], container(m))).stdout.split("\n")[1]!.replace(/^mem\s+memory\s+/, "");
    expect(await basis({ kind: "flat", monthlyUsd: 40, description: "rack" })).toBe("flat $40.00/month");
    expect(await basis(undefined)).toBe("not priced: an in-memory store has no price");
    expect(await basis(null)).toBe("not priced: the memory backend declares no cost model");
    const json = JSON.parse((await targetsText(["targets", "--json", fixture], container({ kind: "flat", monthlyUsd: 40, description: "rack" }))).stdout) as { targets: { name: string; basis: string }[] };
    expect(json.targets).toEqual([expect.objectContaining({ name: "mem", basis: "flat $40.00/month" })]);
  });
});
