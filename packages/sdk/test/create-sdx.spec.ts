import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSdx, definePlugin, loadPlugins, plan, validate, type PriceSource } from "@sdx/sdk";
import { backendModule, createSdxContainer, sdxFromContainer } from "@sdx/sdk/di";
import { createMemoryBackend } from "./memory-backend.js";

const fixture = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
const env = { MEMSHOP_TOKEN: "tok-session" };

describe("createSdx: the API bound to one session", () => {
  it("plans, deploys, reports status and destroys with the session's own backends, and nothing leaks into the default session", async () => {
    const backend = createMemoryBackend();
    const sdx = createSdx({ builtins: false, backends: [backend], env });
    expect((await sdx.plan(fixture)).plans[0]!.plan.summary.create).toBe(2);
    expect((await sdx.deploy(fixture)).status).toBe("succeeded");
    expect(backend.store.size).toBe(2);
    expect((await sdx.status(fixture)).services.map((s) => `${s.service}:${s.state}`).sort()).toEqual(["web:healthy", "worker:healthy"]);
    expect((await sdx.plan(fixture)).plans[0]!.plan.summary.noop).toBe(2);
    expect((await sdx.destroy(fixture)).deleted).toHaveLength(2);
    // The plain functions use the default session: built-ins only, so "memory" is unknown there.
    const r = await validate(fixture, { env });
    expect(r.app).toBeUndefined();
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: "SDX_UNKNOWN_TARGET_KIND", path: "targets.mem.kind" }));
  });

  it("keeps sessions apart: each has its own backends and environment", async () => {
    const a = createMemoryBackend();
    const b = createMemoryBackend();
    await createSdx({ builtins: false, backends: [a], env }).deploy(fixture);
    expect(a.store.size).toBe(2);
    expect(b.store.size).toBe(0);
    // Without the secret's variable in its environment, the second session refuses to deploy.
    await expect(createSdx({ builtins: false, backends: [b], env: {} }).deploy(fixture)).rejects.toMatchObject({ code: "SDX_VALIDATION" });
    expect(b.store.size).toBe(0);
  });

  it("refuses a kind registered twice", () => {
    expect(() => createSdx({ builtins: false, backends: [createMemoryBackend(), createMemoryBackend()] })).toThrow(expect.objectContaining({ code: "SDX_DUPLICATE_BACKEND" }));
  });

  it("composes loaded plugins: their backends and price sources", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdx-session-plugin-"));
    const memory = fileURLToPath(new URL("./memory-backend.ts", import.meta.url));
    writeFileSync(join(dir, "mem-plugin.mjs"), `import { createMemoryBackend } from ${JSON.stringify(memory)};\nexport default { name: "mem", backends: () => [createMemoryBackend()] };\n`);
    const plugins = await loadPlugins([{ specifier: "./mem-plugin.mjs", origin: "app" }], { appDir: dir });
    expect(plugins.map((p) => [p.name, p.backends.map((b) => b.kind)])).toEqual([["mem", ["memory"]]]);
    const sdx = createSdx({ builtins: false, plugins, env });
    expect((await sdx.plan(fixture, { offline: true })).plans[0]!.backend).toBe("memory");

    // A price source from a plugin prices the built-in targets it knows.
    const cheap: PriceSource = { id: "test-rates", priority: 10, lookup: async (q) => (q.kind === "vm" && q.instanceType === "m6i.large" ? { unit: "instance-hour", onDemandUsd: 0.01, provenance: { source: "test-rates", asOf: "2026-01-01" }, vm: { vcpus: 2, memoryGiB: 8, arch: "amd64" } } : undefined) };
    const withRates = createSdx({ plugins: [{ name: "rates", backends: [], priceSources: [cheap] }], env: { SHOP_DB_PASSWORD: "x", SHOP_API_TOKEN: "x" } });
    const shop = fileURLToPath(new URL("../../../examples/shop/sdx.yaml", import.meta.url));
    const priced = await withRates.plan(shop, { offline: true, offlinePrices: false, target: "all" });
    const sources = priced.estimates!.estimates.flatMap((e) => e.lines.map((l) => l.provenance.source));
    expect(sources).toContain("test-rates");
    // The default session does not see it.
    const plain = await plan(shop, { offline: true, offlinePrices: false, target: "all", env: { SHOP_DB_PASSWORD: "x", SHOP_API_TOKEN: "x" } });
    expect(plain.estimates!.estimates.flatMap((e) => e.lines.map((l) => l.provenance.source))).not.toContain("test-rates");
  });

  it("is what a container gives: one session per container, sharing loaded backends", async () => {
    const backend = createMemoryBackend();
    const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)] });
    const sdx = sdxFromContainer(container);
    expect(sdxFromContainer(container)).toBe(sdx);
    await sdx.deploy(fixture, { env });
    // The plain function given the container runs in the same session.
    expect((await plan(fixture, { container, env })).plans[0]!.plan.summary.noop).toBe(2);
  });

  it("definePlugin returns the plugin as written", () => {
    const p = { backends: [createMemoryBackend()] };
    expect(definePlugin(p)).toBe(p);
  });
});
