import { describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { destroy, plan, schema, validate } from "@sdx/sdk";
import { backendModule, createSdxContainer, priceSourceModule } from "@sdx/sdk/di";
import { createDirectoryBackend } from "./src/directory-backend.ts";
import { rateCard } from "./src/rate-card-source.ts";
import { ship } from "./src/embed.ts";

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), "sdx-embed-"));
  copyFileSync(fileURLToPath(new URL("./app.yaml", import.meta.url)), join(dir, "app.yaml"));
  return { dir, file: join(dir, "app.yaml") };
}
const container = () => createSdxContainer({ modules: [backendModule(createDirectoryBackend()), priceSourceModule(rateCard)] });

describe("examples/embed: a tool embedding sdx", () => {
  it("prices its own target with its own rate card and picks it as the cheapest", async () => {
    const { file } = workspace();
    const r = await plan(file, { container: container(), target: "cheapest" });
    const out = r.estimates!.estimates.find((e) => e.target === "out")!;
    expect(r.target).toBe("out");
    // 3 replicas of ≤ 500m/512Mi fit one acme.small (2 vCPU, 4 GiB) at the rate card's $0.021/h.
    expect(out.hourlyUsd).toBeCloseTo(0.021, 6);
    expect(out.lines.map((l) => l.provenance.source)).toContain("acme-rate-card");
    // Packed with the reserve the directory backend declares (the acme agent's), not Kubernetes' kubelet reservation.
    expect(out.assumptions).toContain("per-node system overhead: 100m CPU / 128 MiB (OS and container engine)");
    expect(r.estimates!.estimates.find((e) => e.target === "k8s")!.assumptions.join("\n")).toMatch(/kubelet reservation/);
    expect(r.plans[0]!.plan.actions.map((a) => `${a.kind} ${a.resource.name}`)).toEqual(["create embedded-jobs", "create embedded-web"]);
  });

  it("deploys through its own backend, drives its own progress UI from events, and re-runs as a no-op", async () => {
    const { dir, file } = workspace();
    const lines: string[] = [];
    expect(await ship(file, (l) => lines.push(l))).toBe(0);
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["embedded-jobs.json", "embedded-web.json"]);
    expect(lines).toContain("acme-ship: web      [##########] 2/2 ready");
    expect(lines.at(-1)).toMatch(/^acme-ship: succeeded on out/);
    const manifest = JSON.parse(readFileSync(join(dir, "out", "embedded-web.json"), "utf8")) as { labels: Record<string, string>; spec: { replicas: number } };
    expect(manifest.labels["app.kubernetes.io/managed-by"]).toBe("sdx");
    expect(manifest.spec.replicas).toBe(2);
    const again: string[] = [];
    expect(await ship(file, (l) => again.push(l))).toBe(0);
    expect(again.at(-1)).toMatch(/^acme-ship: no-changes on out/);
  });

  it("leaves files it does not own alone, and destroy removes only its own", async () => {
    const { dir, file } = workspace();
    await ship(file, () => {});
    writeFileSync(join(dir, "out", "someone-else.json"), JSON.stringify({ labels: { team: "other" }, spec: {} }));
    const r = await destroy(file, { container: container(), target: "out" });
    expect(r.deleted.map((d) => d.name).sort()).toEqual(["embedded-jobs", "embedded-web"]);
    expect(readdirSync(join(dir, "out"))).toEqual(["someone-else.json"]);
  });

  it("validates a directory target by the backend's own target spec: a missing path, a misspelt key with did-you-mean", async () => {
    const { dir } = workspace();
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "name: x\nservices: { a: { image: 'x:1' } }\ntargets: { out: { kind: directory } }\n");
    await expect(plan(bad, { container: container() })).rejects.toMatchObject({ code: "SDX_VALIDATION", details: { diagnostics: expect.arrayContaining([expect.objectContaining({ code: "SDX_MISSING", path: "targets.out.path" })]) } });
    writeFileSync(bad, "name: x\nservices: { a: { image: 'x:1' } }\ntargets: { out: { kind: directory, path: ./out, indnet: 4 } }\n");
    const r = await validate(bad, { container: container() });
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_UNKNOWN_KEY", path: "targets.out.indnet", suggestions: ["indent"], line: 3 }));
  });

  it("resolves the target's path against the app file's directory and applies its defaults", async () => {
    const { dir, file } = workspace();
    const r = await validate(file, { container: container() });
    expect(r.app!.targets.find((t) => t.name === "out")).toEqual({
      name: "out", kind: "directory", path: join(dir, "out"), indent: 2, overrides: [],
      pricing: { provider: "aws", region: "us-east-1", nodeTypes: ["acme.small"], spot: false, dedicatedCluster: false, controlPlane: "none" },
    });
  });

  it("gives editors a schema for its own kind, next to the built-in ones", async () => {
    const s = JSON.stringify(await schema({ container: container() }));
    const targets = (JSON.parse(s) as { properties: { targets: { additionalProperties: { oneOf: { properties: { kind: { const: string }; indent?: { default: number; description: string } } }[] } } } })
      .properties.targets.additionalProperties.oneOf;
    expect(targets.map((t) => t.properties.kind.const)).toEqual(["kubernetes", "swarm", "ecs", "hosts", "directory"]);
    expect(targets[4]!.properties.indent).toMatchObject({ default: 2, description: "Indentation of the JSON manifests." });
  });
});
