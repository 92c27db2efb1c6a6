import { describe, expect, it } from "vitest";
import { deploy, destroy, plan, status, type SdxEvent } from "@sdx/sdk";
import { backendModule, createSdxContainer } from "@sdx/sdk/di";
import { builtinTargetKinds, EXAMPLE_SECRET_ENV, exampleFile } from "@sdx/sdk/testing";
import { fileURLToPath } from "node:url";
import { createMemoryBackend, memoryTargetSpec } from "./memory-backend.js";
import { seedTag, startFakeOciRegistry } from "../src/image/__fixtures__/fake-oci-registry.js";
import { seedFakeBase } from "./fixtures/build/build-fixtures.js";

const fixture = fileURLToPath(new URL("./fixtures/memory-shop.yaml", import.meta.url));
const env = { MEMSHOP_TOKEN: "tok-123-secret" };

function setup(opts: Parameters<typeof createMemoryBackend>[0] = {}) {
  const backend = createMemoryBackend(opts);
  // builtins: false keeps the test independent of the other packages; a real
  // embedder would usually keep them and add its own.
  const container = createSdxContainer({ builtins: false, modules: [backendModule(backend)], runtime: { env } });
  return { backend, container };
}

describe("a third-party backend registered through the container", () => {
  it("plans, deploys, re-plans as a no-op, reports status and destroys", async () => {
    const { backend, container } = setup();
    const events: SdxEvent[] = [];
    const p1 = await plan(fixture, { container });
    expect(p1.target).toBe("mem");
    expect(p1.plans[0]!.plan.actions.map((a) => `${a.kind} ${a.resource.name}`)).toEqual(["create memshop-web", "create memshop-worker"]);
    // Derived by the sdk from capabilities.nativeProbes (["exec"]); the backend's check says nothing about probes.
    expect(p1.plans[0]!.check.fidelity).toContainEqual({
      service: "web", field: "health.http", level: "approximated",
      note: "In-memory runs only command health checks: sdx runs the http probe as a command inside the container, against 127.0.0.1:8080",
    });

    const d1 = await deploy(fixture, { container, onEvent: (e) => events.push(e) });
    expect(d1.status).toBe("succeeded");
    expect(backend.store.size).toBe(2);
    expect(events.filter((e) => e.kind === "action-succeeded")).toHaveLength(2);

    const d2 = await deploy(fixture, { container });
    expect(d2.status).toBe("no-changes");
    expect(backend.calls.filter((c) => c === "apply")).toHaveLength(1);

    const s = await status(fixture, { container });
    expect(s.services.map((x) => [x.service, x.ready])).toEqual([["web", 2], ["worker", 1]]);

    const gone = await destroy(fixture, { container });
    expect(gone.deleted).toHaveLength(2);
    expect(backend.store.size).toBe(0);
  });

  it("shows a one-field update when one env var changes, and only for that service", async () => {
    const { backend, container } = setup();
    await deploy(fixture, { container });
    const p = await plan(fixture, { container, env: { ...env, LOG_LEVEL: "debug" } });
    const changed = p.plans[0]!.plan.actions.filter((a) => a.kind !== "no-op");
    expect(changed.map((a) => a.resource.name)).toEqual(["memshop-web"]);
    expect(changed[0]!.changes.map((c) => c.path)).toEqual(["labels[\"sdx.dev/revision\"]", "spec.env.LOG_LEVEL"]);
    expect(backend.store.get("workload/memshop-web")!.spec.env).toEqual({ LOG_LEVEL: "info" });
  });

  it("refuses to touch a same-named object it does not own", async () => {
    const { backend, container } = setup();
    backend.store.set("workload/memshop-web", { kind: "workload", name: "memshop-web", labels: { team: "other" }, spec: { image: "theirs" } });
    const p = await plan(fixture, { container });
    expect(p.plans[0]!.plan.diagnostics[0]).toMatchObject({ code: "SDX_NOT_OWNED", severity: "error" });
    await expect(deploy(fixture, { container })).rejects.toMatchObject({ code: "SDX_NOT_OWNED", fault: "user" });
    expect(backend.store.get("workload/memshop-web")!.spec).toEqual({ image: "theirs" });
    expect(backend.store.size).toBe(1);
  });

  it("reports what completed, what failed and what remains when an action fails", async () => {
    const { container } = setup({ failOn: new Set(["memshop-web"]) });
    const d = await deploy(fixture, { container });
    expect(d.status).toBe("failed");
    expect(d.apply!.failed.map((f) => f.action.resource.name)).toEqual(["memshop-web"]);
    expect(d.apply!.error).toMatchObject({ code: "SDX_BACKEND_REJECTED" });
  });

  it("falls back to a render-only plan when the backend is unreachable, but never deploys blind", async () => {
    const { container } = setup({ reachable: false });
    const events: SdxEvent[] = [];
    const p = await plan(fixture, { container, onEvent: (e) => events.push(e) });
    expect(p.plans[0]!.plan.mode).toBe("render-only");
    expect(p.plans[0]!.plan.unreachable).toMatchObject({ code: "SDX_BACKEND_UNREACHABLE" });
    expect(events.some((e) => e.kind === "target-unreachable")).toBe(true);
    await expect(deploy(fixture, { container })).rejects.toMatchObject({ code: "SDX_BACKEND_UNREACHABLE" });
  });

  it("keeps secret values out of plans and errors", async () => {
    const { container } = setup();
    const p = await plan(fixture, { container });
    expect(JSON.stringify(p)).not.toContain("tok-123-secret");
  });

  it("rejects a duplicate registration for the same kind", async () => {
    const container = createSdxContainer({ builtins: false, modules: [backendModule(createMemoryBackend()), backendModule(createMemoryBackend())] });
    await expect(plan(fixture, { container })).rejects.toMatchObject({ code: "SDX_DUPLICATE_BACKEND" });
  });

  it("validates the third-party target's own settings by its spec", async () => {
    const { container } = setup();
    const bad = fixture.replace("memory-shop.yaml", "memory-bad-target.yaml");
    await expect(plan(bad, { container })).rejects.toMatchObject({
      code: "SDX_VALIDATION", details: { diagnostics: [expect.objectContaining({ code: "SDX_MISSING", path: "targets.mem.bucket", line: 5 })] },
    });
  });

  it("reports a third-party kind's settings with paths, did-you-mean and its own rules, and applies its defaults", async () => {
    const { validateApp } = await import("@sdx/sdk");
    const targetKinds = new Map([["memory", memoryTargetSpec]]);
    const doc = (target: Record<string, unknown>) => ({ name: "m", services: { web: { image: "nginx:1" } }, targets: { mem: { kind: "memory", ...target } } });
    const codes = (r: { diagnostics: readonly { code: string; path: string; severity: string }[] }) => r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.path}`);
    const typo = validateApp(doc({ bucket: "b", maxObject: 3 }), { targetKinds });
    expect(codes(typo)).toEqual(["SDX_UNKNOWN_KEY targets.mem.maxObject"]);
    expect(typo.diagnostics.find((d) => d.code === "SDX_UNKNOWN_KEY")).toMatchObject({ suggestions: ["maxObjects"], hint: 'Did you mean "maxObjects"?' });
    expect(codes(validateApp(doc({ bucket: "b", maxObjects: 0 }), { targetKinds }))).toEqual(["SDX_OUT_OF_RANGE targets.mem.maxObjects"]);
    // A rule of the kind's normalize, reported at the path it names.
    expect(codes(validateApp(doc({ bucket: "mem" }), { targetKinds }))).toEqual(["MEMORY_BUCKET targets.mem.bucket"]);
    expect(validateApp(doc({ bucket: "b" }), { targetKinds }).app!.targets).toEqual([{ name: "mem", kind: "memory", overrides: [], bucket: "b", maxObjects: 1000 }]);
  });

  it("answers an unknown kind with did-you-mean over the registered kinds, third-party ones included", async () => {
    const { container } = setup();
    const { validate } = await import("@sdx/sdk");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(mkdtempSync(join(tmpdir(), "sdx-kind-")), "sdx.yaml");
    writeFileSync(file, "name: m\nservices: { web: { image: 'nginx:1' } }\ntargets: { mem: { kind: memroy, bucket: b } }\n");
    const r = await validate(file, { container });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([expect.objectContaining({ code: "SDX_UNKNOWN_TARGET_KIND", path: "targets.mem.kind", suggestions: ["memory"], hint: 'Did you mean "memory"? Known kinds: memory.' })]);
  });

  it("`sdx schema` describes the third-party kind the container registers, next to the built-in ones", async () => {
    const { runCli } = await import("../src/cli/run-cli.js");
    const backend = createMemoryBackend();
    let out = "";
    const code = await runCli(["schema"], { container: createSdxContainer({ modules: [backendModule(backend)] }), stdout: (t: string) => { out += t; }, stderr: () => {}, env: {} });
    expect(code).toBe(0);
    const kinds = (JSON.parse(out) as { properties: { targets: { additionalProperties: { oneOf: { properties: Record<string, { const?: string; default?: unknown; description?: string }> }[] } } } })
      .properties.targets.additionalProperties.oneOf;
    expect(kinds.map((k) => k.properties.kind!.const)).toEqual(["kubernetes", "swarm", "ecs", "hosts", "memory"]);
    expect(kinds[4]!.properties.maxObjects).toMatchObject({ default: 1000, description: "Objects the bucket may hold." });
  });

  it("plans the shipped examples through a third-party backend", async () => {
    const { container } = setup();
    // The examples target built-in kinds; plan them by handing the App object with a memory target.
    const { loadApp } = await import("@sdx/sdk");
    // The shop's quotes is built from source: its base and its pushes go to a registry on 127.0.0.1.
    const reg = await startFakeOciRegistry();
    const base = await seedFakeBase(reg, "library/node", "24");
    try {
    for (const name of ["hello", "shop"]) {
      const loaded = await loadApp(exampleFile(name), { env: EXAMPLE_SECRET_ENV, targetKinds: await builtinTargetKinds() });
      const services = loaded.app!.services.map((s) => (s.build ? { ...s, build: { ...s.build, base: base.ref, repository: `${reg.host}/shop-${s.name}` } } : s));
      const app = { ...loaded.app!, services, targets: [{ kind: "memory", name: "mem", overrides: [], bucket: "x", maxObjects: 10 }] };
      const d = await deploy(app, { container, baseDir: loaded.baseDir, env: EXAMPLE_SECRET_ENV });
      expect(d.status).toBe("succeeded");
      expect(d.apply!.completed).toHaveLength(app.services.length);
      expect((await plan(app, { container, baseDir: loaded.baseDir, env: EXAMPLE_SECRET_ENV })).plans[0]!.plan.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
      // A built service runs the image sdx pushed, by digest.
      for (const b of d.builds) expect(reg.manifest(b.repository.slice(reg.host.length + 1), b.digest)).toBeDefined();
      if (name === "shop") expect(d.builds.map((b) => b.service)).toEqual(["quotes"]);
    }
    } finally {
      await reg.close();
    }
  }, 120_000); // the first run installs the quotes service's dependency with npm ci
});

describe("budgets", () => {
  it("refuses a deploy over budget before changing anything", async () => {
    const backend = createMemoryBackend();
    const estimator = {
      async estimate() {
        return {
          estimates: [{ target: "mem", backend: "memory", provider: "aws", region: "us-east-1", capacity: "1 node", hourlyUsd: 1, monthlyUsd: 730, onDemandHourlyUsd: 1, lines: [], assumptions: [], notPriced: [], priceAsOf: "2026-11-01", chosen: true }],
          chosen: "mem", reason: "only candidate", rejected: [], diagnostics: [],
        };
      },
    };
    const { ContainerModule } = await import("inversify");
    const { TOKENS } = await import("@sdx/sdk/di");
    const container = createSdxContainer({
      builtins: false,
      runtime: { env },
      modules: [backendModule(backend), new ContainerModule(({ bind }) => { bind(TOKENS.CostEstimatorProvider).toConstantValue({ load: () => estimator }); })],
    });
    await expect(deploy(fixture, { container, policy: { maxMonthlyUsd: 100 } })).rejects.toMatchObject({ code: "SDX_BUDGET_EXCEEDED", fault: "user" });
    expect(backend.store.size).toBe(0);
    expect((await deploy(fixture, { container, policy: { maxMonthlyUsd: 1000 } })).status).toBe("succeeded");
  });
});

describe("cost delta against the deployed revision", () => {
  it("prices what runs now against the new revision, per service", async () => {
    const backend = createMemoryBackend();
    // $0.01 per replica-hour per 250 millicores: easy to check by hand.
    const estimator = {
      async estimate(app: import("@sdx/sdk").App) {
        const lines = app.services.map((s) => {
          const replicas = s.scale.kind === "fixed" ? s.scale.replicas : s.scale.min;
          const hourlyUsd = replicas * (s.resources.cpuMillis / 250) * 0.01;
          return { service: s.name, item: "replica", quantity: replicas, unit: "replica-hour", unitPriceUsd: 0.01, hourlyUsd, provenance: { source: "test", asOf: "2026-11-01" } };
        });
        const hourlyUsd = lines.reduce((a, l) => a + l.hourlyUsd, 0);
        return {
          estimates: [{ target: "mem", backend: "memory", provider: "aws", region: "us-east-1", capacity: "test", hourlyUsd, monthlyUsd: hourlyUsd * 730, onDemandHourlyUsd: hourlyUsd, lines, assumptions: [], notPriced: [], priceAsOf: "2026-11-01", chosen: true }],
          chosen: "mem", reason: "only", rejected: [], diagnostics: [],
        };
      },
    };
    const { ContainerModule } = await import("inversify");
    const { TOKENS } = await import("@sdx/sdk/di");
    const container = createSdxContainer({
      builtins: false, runtime: { env },
      modules: [backendModule(backend), new ContainerModule(({ bind }) => { bind(TOKENS.CostEstimatorProvider).toConstantValue({ load: () => estimator }); })],
    });
    const { loadApp } = await import("@sdx/sdk");
    const app = (await loadApp(fixture, { env, targetKinds: new Map([["memory", memoryTargetSpec]]) })).app!;
    const first = await plan(app, { container, env });
    expect(first.plans[0]!.costDelta).toBeUndefined(); // nothing deployed yet
    await deploy(app, { container, env });
    const bigger = { ...app, services: app.services.map((s) => (s.name === "web" ? { ...s, scale: { kind: "fixed" as const, replicas: 4 } } : s)) };
    const p = await plan(bigger, { container, env });
    // web: 2 → 4 replicas of 250m at $0.01/h = $14.60 → $29.20 a month; worker unchanged at $7.30.
    expect(p.plans[0]!.costDelta).toEqual([
      { service: "web", beforeMonthlyUsd: 14.6, afterMonthlyUsd: 29.2, deltaMonthlyUsd: 14.6 },
      { service: "worker", beforeMonthlyUsd: 7.3, afterMonthlyUsd: 7.3, deltaMonthlyUsd: 0 },
    ].map((d) => ({ ...d, beforeMonthlyUsd: expect.closeTo(d.beforeMonthlyUsd, 6), afterMonthlyUsd: expect.closeTo(d.afterMonthlyUsd, 6), deltaMonthlyUsd: expect.closeTo(d.deltaMonthlyUsd, 6) })));
    const { formatPlanResult } = await import("../src/format/format-plan.js");
    expect(formatPlanResult(p)).toContain("Cost per month vs the deployed revision: web $14.60 → $29.20 (+$14.60); total +$14.60.");
  });
});

describe("pricing discovered from the backend", () => {
  it("fills a target's missing pricing profile from what the backend sees, and stated fields win", async () => {
    const backend = { ...createMemoryBackend(), discoverPricing: async () => ({ nodeTypes: ["m6i.large"], region: "eu-west-1", spot: true }) };
    const seen: unknown[] = [];
    const estimator = {
      async estimate(app: import("@sdx/sdk").App) {
        seen.push(app.targets[0]!.pricing);
        return { estimates: [], rejected: [], diagnostics: [] };
      },
    };
    const { ContainerModule } = await import("inversify");
    const { TOKENS } = await import("@sdx/sdk/di");
    const container = createSdxContainer({
      builtins: false, runtime: { env },
      modules: [backendModule(backend), new ContainerModule(({ bind }) => { bind(TOKENS.CostEstimatorProvider).toConstantValue({ load: () => estimator }); })],
    });
    const events: SdxEvent[] = [];
    await plan(fixture, { container, onEvent: (e) => events.push(e) });
    // m6i.* names AWS even though the nodes did not say so.
    expect(seen[0]).toEqual({ provider: "aws", region: "eu-west-1", nodeTypes: ["m6i.large"], spot: true, dedicatedCluster: false, controlPlane: "none" });
    expect(events).toContainEqual(expect.objectContaining({ kind: "log", message: expect.stringContaining("pricing from its nodes") }));
    seen.length = 0;
    await plan(fixture, { container, offline: true });
    expect(seen[0]).toBeUndefined(); // --offline contacts nothing, so nothing is discovered
  });
});

describe("price staleness is configurable", () => {
  it("warns past 90 days by default and honours SDX_PRICES_MAX_AGE_DAYS", async () => {
    const { exampleFile } = await import("@sdx/sdk/testing");
    const stale = async (runtimeEnv: Record<string, string>) => {
      const container = createSdxContainer({ runtime: { env: runtimeEnv, now: () => new Date("2026-11-21T00:00:00Z") } });
      const r = await plan(exampleFile("hello"), { container, offline: true });
      return r.estimates!.diagnostics.some((d) => d.code === "SDX_PRICES_STALE");
    };
    expect(await stale({})).toBe(true); // the embedded catalog is from early 2026
    expect(await stale({ SDX_PRICES_MAX_AGE_DAYS: "400" })).toBe(false);
  });
});

describe("image digests in the plan", () => {
  it("shows what a tag points at, asked from the image's registry (a fake one on loopback)", async () => {
    const reg = await startFakeOciRegistry({ auth: { kind: "bearer", anonymousPull: true } });
    const digest = seedTag(reg, "acme/web:1.4");
    try {
      const { container } = setup();
      const { loadApp, formatPlanResult } = await import("@sdx/sdk");
      const base = (await loadApp(fixture, { env, targetKinds: new Map([["memory", memoryTargetSpec]]) })).app!;
      const image = { ref: `${reg.host}/acme/web:1.4`, repository: `${reg.host}/acme/web`, tag: "1.4" };
      const app = { ...base, services: base.services.map((s) => (s.name === "web" ? { ...s, image } : s)) };
      const r = await plan(app, { container, env, resolveImages: true });
      expect(r.images).toEqual([
        { service: "web", ref: image.ref, status: "resolved", digest },
        { service: "worker", ref: base.services[1]!.image.ref, status: "pinned", digest: base.services[1]!.image.digest },
      ]);
      expect(formatPlanResult(r)).toContain(`image web: ${image.ref} → ${digest}`);
      // Offline (and SDX_RESOLVE_IMAGES=0, set for every test) asks no registry.
      const before = reg.requests.length;
      expect((await plan(app, { container, env, offline: true })).images[0]).toMatchObject({ status: "unresolved", reason: "offline" });
      expect((await plan(app, { container, env })).images[0]).toMatchObject({ status: "unresolved" });
      expect(reg.requests.length).toBe(before);
    } finally {
      await reg.close();
    }
  });
});
