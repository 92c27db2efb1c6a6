import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { plan } from "@sdx/sdk";
import { EXAMPLE_SECRET_ENV, REPO_ROOT } from "@sdx/sdk/testing";
import { runCli } from "../src/cli/run-cli.js";

// `--target cheapest` must pick a target that runs the app the same way. A
// target that cannot run it (a persistent volume on ECS, which provides none)
// is refused; one that runs it but breaks what it depends on (the shop's web
// calls http://api:9090, and ECS registers no service names) is skipped unless
// the user allows degraded targets. Either way the table says why.
const SHOP = join(REPO_ROOT, "examples/shop/sdx.yaml");

function shopWithDatabaseVolume(): string {
  const dir = mkdtempSync(join(tmpdir(), "sdx-cheapest-refusal-"));
  cpSync(join(REPO_ROOT, "examples/shop"), dir, { recursive: true });
  const file = join(dir, "sdx.yaml");
  const text = readFileSync(file, "utf8").replace("$schema: ../../packages/sdk/schema/app.schema.json\n", "");
  // The api keeps its data on a persistent volume.
  writeFileSync(file, text.replace(/(\n  api:\n)/, "$1    volumes:\n      - { name: data, path: /var/lib/api, kind: persistent, size: 10Gi }\n"));
  return file;
}

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli([...args], { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, interactive: false, confirm: async () => false, env: EXAMPLE_SECRET_ENV });
  return { code, out, err };
}

describe("choosing the cheapest respects what each target drops", () => {
  it("skips ECS for the shop, whose web reaches the api by name, and names discovery as the reason", async () => {
    const r = await plan(SHOP, { env: EXAMPLE_SECRET_ENV, offline: true, target: "cheapest" });
    expect(r.target).not.toBe("ecs");
    expect(r.estimates!.estimates.map((e) => e.target)).not.toContain("ecs");
    const ecs = r.estimates!.rejected.find((x) => x.target === "ecs");
    expect(ecs?.reason).toMatch(/^would break what the app depends on on AWS ECS \(Fargate\): /);
    expect(ecs?.reason).toContain("discovery by name (services.api.ports: not reachable by name");
    expect(ecs?.reason).toContain("public port (services.web.ports.public: no target group named for this service");
    expect(ecs?.reason).toContain("--allow-degraded");
    expect(r.verdicts?.ecs).toMatchObject({ kind: "degraded", breaks: ["public-port", "discovery"] });

    const { code, out } = await cli(["plan", SHOP, "--offline", "-t", "cheapest"]);
    expect(code).toBe(0);
    expect(out).toMatch(/Chosen: (k8s|swarm)/);
    expect(out).toMatch(/✗ ecs: would break what the app depends on on AWS ECS \(Fargate\): public port .*; discovery by name \(services\.api\.ports: .*\(and 1 more\)\)/);
  });

  it("considers ECS with --allow-degraded (allowDegraded), showing its verdict in the table", async () => {
    const r = await plan(SHOP, { env: EXAMPLE_SECRET_ENV, offline: true, target: "cheapest", allowDegraded: true });
    expect(r.estimates!.estimates.map((e) => e.target)).toContain("ecs");
    expect(r.estimates!.rejected.filter((x) => x.target === "ecs")).toEqual([]);

    const { code, out } = await cli(["plan", SHOP, "--offline", "-t", "cheapest", "--allow-degraded"]);
    expect(code).toBe(0);
    const header = out.split("\n").find((l) => l.includes("TARGET"))!;
    expect(header).toMatch(/PRICES AS OF\s+FIDELITY$/);
    const ecsRow = out.split("\n").find((l) => /^\s*→?\s*ecs\s/.test(l))!;
    expect(ecsRow).toMatch(/breaks public port \(web\), discovery by name \(api, quotes\)$/);
    expect(out).not.toContain("✗ ecs");
  });

  it("puts each target's verdict in --json", async () => {
    const { code, out } = await cli(["plan", SHOP, "--offline", "-t", "cheapest", "--json"]);
    expect(code).toBe(0);
    const doc = JSON.parse(out) as { verdicts: Record<string, { kind: string; breaks?: string[]; entries?: { service: string; field: string; breaks: string }[] }> };
    expect(Object.keys(doc.verdicts).sort()).toEqual(["ecs", "k8s", "swarm"]);
    expect(doc.verdicts.ecs!.kind).toBe("degraded");
    expect(doc.verdicts.ecs!.breaks).toContain("discovery");
    expect(doc.verdicts.ecs!.entries).toContainEqual(expect.objectContaining({ service: "api", field: "ports", breaks: "discovery" }));
    expect(["exact", "approximated"]).toContain(doc.verdicts.swarm!.kind);
  });

  it("plans a degraded target named explicitly: the refusal is only for choosing", async () => {
    const r = await plan(SHOP, { env: EXAMPLE_SECRET_ENV, offline: true, target: "ecs" });
    expect(r.target).toBe("ecs");
    expect(r.verdicts?.ecs?.kind).toBe("degraded");
  });

  it("still refuses ECS for an app with a persistent volume, even with --allow-degraded", async () => {
    const file = shopWithDatabaseVolume();
    for (const allowDegraded of [false, true]) {
      const r = await plan(file, { env: EXAMPLE_SECRET_ENV, offline: true, target: "cheapest", allowDegraded });
      expect(r.target).not.toBe("ecs");
      const rejected = r.estimates!.rejected.find((x) => x.target === "ecs");
      expect(rejected?.reason).toMatch(/cannot run the app as written on AWS ECS \(Fargate\): services\.api\.volumes/);
      expect(r.verdicts?.ecs).toEqual({ kind: "refused", errors: 1 });
    }
    const { code, out } = await cli(["plan", file, "--offline", "-t", "cheapest", "--allow-degraded"]);
    expect(code).toBe(0);
    expect(out).toMatch(/Chosen: (k8s|swarm)/);
    expect(out).toContain("cannot run the app as written on AWS ECS (Fargate)");
  });
});
