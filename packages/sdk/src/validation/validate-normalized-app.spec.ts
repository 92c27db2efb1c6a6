import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { builtinTargetKinds, EXAMPLE_SECRET_ENV, exampleFile } from "../testing/testing.js";
import { memoryTargetSpec } from "../../test/memory-backend.js";
import { loadApp } from "../load/load-app.js";
import type { App } from "../model/app.js";
import { validateNormalizedApp } from "./validate-normalized-app.js";

const memshop = fileURLToPath(new URL("../../test/fixtures/memory-shop.yaml", import.meta.url));
// The built-in kinds plus the test memory backend's, as a container registering it would have them.
const memory = { targetKinds: new Map([...(await builtinTargetKinds()), ["memory", memoryTargetSpec]]) };

async function loaded(file: string): Promise<App> {
  const r = await loadApp(file, { env: { ...EXAMPLE_SECRET_ENV, MEMSHOP_TOKEN: "t" }, ...memory });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.app!;
}

const clone = <T>(v: T): T => structuredClone(v);
const codes = (r: ReturnType<typeof validateNormalizedApp>) => r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.path}`);

describe("validateNormalizedApp", () => {
  it("accepts every app the loader produces and returns it unchanged", async () => {
    for (const file of [exampleFile("hello"), exampleFile("shop"), memshop]) {
      const app = await loaded(file);
      const r = validateNormalizedApp(clone(app), memory);
      expect(codes(r), file).toEqual([]);
      expect(r.app, file).toEqual(app);
    }
  });

  it("keeps defaulted requests and placement defaulted, and a hand-written object without the list as given", async () => {
    const app = await loaded(exampleFile("hello"));
    const s0 = app.services[0]!;
    const left = validateNormalizedApp({ ...app, services: [{ ...s0, resources: { cpuMillis: 250, memoryMiB: 512, defaulted: ["cpu"] }, placement: { ...s0.placement, defaulted: ["arch"] } }] }, memory);
    expect(left.app!.services[0]!.resources).toEqual({ cpuMillis: 250, memoryMiB: 512, defaulted: ["cpu"] });
    expect(left.app!.services[0]!.placement).toEqual({ spot: s0.placement.spot, minOnDemand: 0, arch: "amd64", constraints: {}, defaulted: ["arch"] });
    const given = validateNormalizedApp({ ...app, services: [{ ...s0, resources: { cpuMillis: 250, memoryMiB: 256 }, placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} } }] }, memory);
    expect(given.app!.services[0]!.resources).toEqual({ cpuMillis: 250, memoryMiB: 256 });
    expect(given.app!.services[0]!.placement.defaulted).toBeUndefined();
    const bad = validateNormalizedApp({ ...app, services: [{ ...s0, resources: { ...s0.resources, defaulted: ["disk"] } }] }, memory);
    expect(codes(bad)).toEqual(["SDX_INVALID_VALUE services.web.resources.defaulted"]);
  });

  it("rejects names, namespaces and labels that no file could carry, with every diagnostic at once", async () => {
    const app = await loaded(exampleFile("shop"));
    const evil = clone(app) as { -readonly [K in keyof App]: unknown } & Record<string, unknown>;
    evil.name = "Evil Name!/..";
    const services = clone(app.services) as unknown as Record<string, unknown>[];
    services[0] = { ...services[0], name: "../web", env: { "BAD NAME": "x" } };
    evil.services = services;
    evil.targets = app.targets.map((t) => (t.kind === "kubernetes" ? { ...t, namespace: "../kube-system" } : t));
    const r = validateNormalizedApp(evil, memory);
    expect(r.app).toBeUndefined();
    expect(codes(r)).toEqual(expect.arrayContaining([
      "SDX_INVALID_FORMAT name",
      'SDX_INVALID_NAME services["../web"]',
      'SDX_INVALID_ENV_NAME services["../web"].env["BAD NAME"]',
      "SDX_INVALID_FORMAT targets.k8s.namespace",
    ]));
  });

  it("reports the same limits and rules as for a file: replicas, ports, modes, duplicates, reserved keys, NUL", async () => {
    const app = await loaded(exampleFile("hello"));
    const s0 = app.services[0]!;
    const bad = {
      ...app,
      labels: JSON.parse('{"__proto__": "x"}') as Record<string, string>,
      services: [
        { ...s0, scale: { kind: "fixed", replicas: -1 }, ports: [{ ...s0.ports[0]!, port: 70000 }], files: [{ path: "etc/x", content: "a\u0000", origin: "inline", mode: 0o7777 }] },
        { ...s0 },
      ],
    };
    const r = validateNormalizedApp(bad);
    expect(codes(r)).toEqual(expect.arrayContaining([
      "SDX_RESERVED_KEY labels.__proto__",
      `SDX_OUT_OF_RANGE services.${s0.name}.replicas`,
      `SDX_OUT_OF_RANGE services.${s0.name}.ports[0].port`,
      `SDX_RELATIVE_PATH services.${s0.name}.files[0].path`,
      `SDX_INVALID_ENCODING services.${s0.name}.files[0].content`,
      `SDX_OUT_OF_RANGE services.${s0.name}.files[0].mode`,
      "SDX_DUPLICATE_SERVICE services[1].name",
    ]));
  });

  it("reports a wrong shape instead of crashing", () => {
    expect(codes(validateNormalizedApp(undefined))).toEqual(["SDX_WRONG_TYPE "]);
    expect(codes(validateNormalizedApp({ name: "a", services: [{ name: "web" }, 3], targets: "x" }))).toEqual(expect.arrayContaining([
      "SDX_MISSING services.web.image",
      "SDX_WRONG_TYPE services[1]",
      "SDX_WRONG_TYPE targets",
    ]));
    expect(codes(validateNormalizedApp({ name: "a", services: [{ name: "web", image: { ref: "nginx:1" }, secrets: [{ name: "s", source: { kind: "vault" }, asEnv: "S" }] }] })))
      .toEqual(expect.arrayContaining(["SDX_INVALID_VALUE services.web.secrets.s.source.kind"]));
  });

  it("also takes the authoring form (services as a map), as defineApp() returns it", () => {
    const r = validateNormalizedApp({ name: "a", services: { web: { image: "nginx:1", replicas: 2 } } });
    expect(codes(r)).toEqual([]);
    expect(r.app!.services[0]).toMatchObject({ name: "web", scale: { kind: "fixed", replicas: 2 } });
    expect(codes(validateNormalizedApp({ name: "a", services: { Web: { image: "nginx:1" } } }))).toEqual(["SDX_INVALID_NAME services.Web"]);
  });

  it("checks third-party target settings through their kind's spec", async () => {
    const app = await loaded(memshop);
    const { bucket: _b, ...noBucket } = app.targets[0] as { bucket?: string };
    expect(codes(validateNormalizedApp({ ...app, targets: [noBucket] }, memory))).toEqual(["SDX_MISSING targets.mem.bucket"]);
    expect(codes(validateNormalizedApp({ ...app, targets: [{ ...app.targets[0]!, bukket: "b" }] }, memory))).toEqual(["SDX_UNKNOWN_KEY targets.mem.bukket"]);
    expect(codes(validateNormalizedApp(app))).toEqual(["SDX_UNKNOWN_TARGET_KIND targets.mem.kind"]);
  });

  it("writes a normalised target back through its spec (ECS spotFallbackSeconds is authored as spotFallbackAfter)", async () => {
    const app = await loaded(exampleFile("shop"));
    const ecs = app.targets.find((t) => t.kind === "ecs")!;
    const r = validateNormalizedApp({ ...app, targets: [{ ...ecs, spotFallbackSeconds: 90 }] }, memory);
    expect(codes(r)).toEqual([]);
    expect(r.app!.targets).toEqual([{ ...ecs, spotFallbackSeconds: 90 }]);
  });
});
