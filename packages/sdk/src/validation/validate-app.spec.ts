import { describe, expect, it } from "vitest";
import { parseAppText } from "../load/load-app.js";
import { validateApp } from "./validate-app.js";
import { builtinTargetKinds } from "../testing/testing.js";

// The built-in backends' target kinds: validation knows no kind by itself.
const targetKinds = await builtinTargetKinds();

const base = { name: "shop", services: { web: { image: "ghcr.io/acme/web:1.0@sha256:" + "a".repeat(64) } } };
const svc = (extra: Record<string, unknown>) => ({ ...base, services: { web: { ...base.services.web, ...extra } } });
const codes = (r: ReturnType<typeof validateApp>) => r.diagnostics.map((d) => `${d.code} ${d.path}`);

describe("validateApp", () => {
  it("normalises a minimal app with documented defaults", () => {
    const r = validateApp(base, { targetKinds });
    expect(r.diagnostics).toEqual([]);
    const web = r.app!.services[0]!;
    expect(web.resources).toEqual({ cpuMillis: 250, memoryMiB: 256, defaulted: ["cpu", "memory"] });
    expect(web.scale).toEqual({ kind: "fixed", replicas: 1 });
    expect(web.placement).toEqual({ spot: "never", minOnDemand: 0, arch: "amd64", constraints: {}, defaulted: ["spot", "arch"] });
    expect(web.rollout).toEqual({ strategy: "rolling", maxSurge: "25%", maxUnavailable: 0, autoRollback: true, timeoutSeconds: 600 });
  });

  it("marks only the requests and placement fields the app left out as defaulted", () => {
    const both = validateApp(svc({ resources: { cpu: "500m", memory: "1Gi" }, placement: { spot: "never", arch: "arm64" } }), { targetKinds }).app!.services[0]!;
    expect(both.resources).toEqual({ cpuMillis: 500, memoryMiB: 1024 });
    expect(both.placement).toEqual({ spot: "never", minOnDemand: 0, arch: "arm64", constraints: {} });
    const some = validateApp(svc({ resources: { memory: "1Gi", limits: { memory: "2Gi" } }, placement: { arch: "amd64" } }), { targetKinds }).app!.services[0]!;
    expect(some.resources).toEqual({ cpuMillis: 250, memoryMiB: 1024, limits: { memoryMiB: 2048 }, defaulted: ["cpu"] });
    expect(some.placement).toEqual({ spot: "never", minOnDemand: 0, arch: "amd64", constraints: {}, defaulted: ["spot"] });
  });

  it("rejects an empty document with a hint to start from an example", () => {
    for (const empty of [undefined, null, {}]) {
      const r = validateApp(empty, { targetKinds });
      expect(r.app).toBeUndefined();
      expect(r.diagnostics[0]).toMatchObject({ code: "SDX_EMPTY", severity: "error" });
      expect(r.diagnostics[0]!.hint).toContain("examples/hello");
    }
  });

  it("reports unknown keys with did-you-mean and their paths", () => {
    const r = validateApp(svc({ replcias: 2, ports: [{ port: 80, pubic: true }] }), { targetKinds });
    expect(r.diagnostics).toEqual(expect.arrayContaining([
      expect.objectContaining({ code: "SDX_UNKNOWN_KEY", path: "services.web.replcias", suggestions: ["replicas"] }),
      expect.objectContaining({ code: "SDX_UNKNOWN_KEY", path: "services.web.ports[0].pubic", suggestions: ["public"] }),
    ]));
  });

  it("reports wrong types, negative replicas and memory without units together, in one pass", () => {
    const r = validateApp(svc({ replicas: -1, env: { A: { nested: true } }, resources: { memory: 512, cpu: "lots" } }), { targetKinds });
    expect(r.app).toBeUndefined();
    expect(codes(r)).toEqual(expect.arrayContaining([
      "SDX_OUT_OF_RANGE services.web.replicas",
      "SDX_WRONG_TYPE services.web.env.A",
      "SDX_INVALID_MEMORY services.web.resources.memory",
      "SDX_INVALID_CPU services.web.resources.cpu",
    ]));
    const mem = r.diagnostics.find((d) => d.code === "SDX_INVALID_MEMORY")!;
    expect(mem.message).toBe('memory "512" has no unit');
    expect(mem.hint).toContain("512Mi");
    expect(r.diagnostics.find((d) => d.path === "services.web.replicas")!.message).toBe("must be ≥ 0, got -1");
  });

  it("rejects duplicate ports", () => {
    const r = validateApp(svc({ ports: [8080, { port: 8080 }, { port: 8080, protocol: "udp" }] }), { targetKinds });
    expect(codes(r)).toEqual(["SDX_DUPLICATE_PORT services.web.ports[1]"]);
  });

  it("rejects a secret value written inline and says how to reference it", () => {
    const r = validateApp(svc({ secrets: { "db-password": { value: "hunter2", asEnv: "DB_PASSWORD" } } }), { targetKinds });
    const d = r.diagnostics.find((x) => x.code === "SDX_SECRET_INLINE")!;
    expect(d.path).toBe("services.web.secrets.db-password.value");
    expect(d.hint).toContain("fromEnv: DB_PASSWORD");
    expect(JSON.stringify(r.diagnostics)).not.toContain("hunter2");
  });

  it("checks names against the strictest rule (DNS-1123 label, 63 characters, <app>-<service>)", () => {
    const long = "s".repeat(60);
    const r = validateApp({ name: "shop", services: { [long]: base.services.web, Web_1: base.services.web } }, { targetKinds });
    expect(codes(r)).toEqual(expect.arrayContaining([`SDX_NAME_TOO_LONG services.${long}`, "SDX_INVALID_NAME services.Web_1"]));
  });

  it("rejects an unknown target kind with did-you-mean", () => {
    const r = validateApp({ ...base, targets: { prod: { kind: "kubernets" } } }, { targetKinds });
    expect(r.diagnostics[0]).toMatchObject({ code: "SDX_UNKNOWN_TARGET_KIND", path: "targets.prod.kind", suggestions: ["kubernetes"] });
  });

  it("checks built-in target settings by kind", () => {
    const r = validateApp({ ...base, targets: { aws: { kind: "ecs", region: "us-east-1" }, k: { kind: "kubernetes", namespce: "x" } } }, { targetKinds });
    expect(codes(r)).toEqual(expect.arrayContaining(["SDX_MISSING targets.aws.cluster", "SDX_UNKNOWN_KEY targets.k.namespce"]));
  });

  it("applies each built-in kind's defaults through its spec", () => {
    const r = validateApp({ ...base, targets: { k: { kind: "kubernetes" }, s: { kind: "swarm" }, e: { kind: "ecs", region: "eu-west-1", cluster: "c" } } }, { targetKinds });
    expect(r.diagnostics).toEqual([]);
    expect(r.app!.targets).toEqual([
      { name: "k", kind: "kubernetes", overrides: [], namespace: "default", expose: "load-balancer" },
      { name: "s", kind: "swarm", overrides: [], spotLabel: "sdx.capacity", publishMode: "ingress" },
      {
        name: "e", kind: "ecs", overrides: [], region: "eu-west-1", cluster: "c", createCluster: false, subnets: [], securityGroups: [], assignPublicIp: false,
        targetGroups: {}, spotFallbackSeconds: 300, spotFallback: true, keepRevisions: 5,
      },
    ]);
  });

  it("reports what a kind's normalize rejects, at the setting's path (ECS spotFallbackAfter)", () => {
    const r = validateApp({ ...base, targets: { e: { kind: "ecs", region: "eu-west-1", cluster: "c", spotFallbackAfter: "soon" } } }, { targetKinds });
    expect(r.app).toBeUndefined();
    expect(codes(r)).toEqual(["SDX_INVALID_DURATION targets.e.spotFallbackAfter"]);
  });

  it("without target kinds, every target is an unknown kind and the hint says none is registered", () => {
    const r = validateApp({ ...base, targets: { k: { kind: "kubernetes" } } });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_UNKNOWN_TARGET_KIND", path: "targets.k.kind", hint: "Known kinds: none (no backend is registered). A third-party backend must be registered to use another kind." })]);
  });

  it("warns on mutable image tags and suggests pinning", () => {
    const r = validateApp(svc({ image: "nginx:latest" }), { targetKinds });
    expect(r.app).toBeDefined();
    expect(r.diagnostics[0]).toMatchObject({ code: "SDX_IMAGE_MUTABLE", severity: "warning", path: "services.web.image" });
    expect(r.diagnostics[0]!.message).toContain(":latest");
  });

  it("rejects replicas and autoscale together, and min > max", () => {
    expect(codes(validateApp(svc({ replicas: 2, autoscale: { min: 1, max: 3 } }), { targetKinds }))).toEqual(["SDX_SCALE_CONFLICT services.web.autoscale"]);
    expect(codes(validateApp(svc({ autoscale: { min: 4, max: 3 } }), { targetKinds }))).toEqual(["SDX_OUT_OF_RANGE services.web.autoscale.min"]);
  });

  it("gives line and column for malformed YAML", () => {
    const r = parseAppText("name: shop\nservices:\n  web:\n    image: [unclosed\n    replicas: 2\n", "sdx.yaml");
    expect(r.doc).toBeUndefined();
    expect(r.diagnostics[0]!.code).toBe("SDX_SYNTAX");
    expect(r.diagnostics[0]!.line).toBeGreaterThanOrEqual(4);
    expect(r.diagnostics[0]!.message).toMatch(/^sdx\.yaml:\d+:\d+: /);
  });

  it("locates schema errors in the YAML source", () => {
    const r = parseAppText("name: shop\nservices:\n  web:\n    image: x\n    replicas: -3\n");
    expect(r.locate("services.web.replicas")).toEqual({ line: 5, column: 5 });
  });
});
