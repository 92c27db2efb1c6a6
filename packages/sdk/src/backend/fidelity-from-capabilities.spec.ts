import { describe, expect, it } from "vitest";
import type { App, Service, Target } from "../model/app.js";
import type { BackendCapabilities, CheckReport } from "./backend.js";
import { fidelityFromCapabilities, fidelityVerdict, mergeCheckReports } from "./fidelity-from-capabilities.js";

const service = (name: string, patch: Partial<Service> = {}): Service => ({
  name, image: { ref: `example/${name}:1`, repository: `example/${name}` }, env: {}, secrets: [], files: [], ports: [], volumes: [], labels: {},
  placement: { spot: "never", minOnDemand: 0, arch: "amd64", constraints: {} },
  rollout: { strategy: "rolling", maxSurge: 1, maxUnavailable: 0, autoRollback: false, timeoutSeconds: 600 },
  resources: { cpuMillis: 250, memoryMiB: 256 }, scale: { kind: "fixed", replicas: 1 },
  ...patch,
});
const target: Target = { name: "t", kind: "box", overrides: [] };
const app = (...services: Service[]): App => ({ name: "a", labels: {}, services, targets: [target] });
const ALL: BackendCapabilities = { spot: true, autoscale: true, nativeProbes: ["http", "tcp", "exec"], volumes: ["ephemeral", "persistent"], rollback: true, liveDiff: true };
const box = (caps: Partial<BackendCapabilities>) => ({ kind: "box", displayName: "Box", capabilities: { ...ALL, ...caps } });

const web = service("web", {
  health: { probe: { kind: "http", path: "/", port: 8080 }, intervalSeconds: 10, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 },
  scale: { kind: "auto", min: 2, max: 5, targetCpuPercent: 70 },
  placement: { spot: "prefer", minOnDemand: 0, arch: "amd64", constraints: {} },
  volumes: [{ name: "cache", path: "/cache", kind: "ephemeral", readOnly: false }, { name: "data", path: "/data", kind: "persistent", readOnly: false }],
  rollout: { strategy: "rolling", maxSurge: 1, maxUnavailable: 0, autoRollback: true, timeoutSeconds: 600 },
});

describe("fidelityFromCapabilities", () => {
  it("derives nothing for a backend that can do everything the app asks", () => {
    expect(fidelityFromCapabilities(app(web), target, box({}))).toEqual({ diagnostics: [], fidelity: [] });
  });

  it("approximates or drops each field a capability is missing for, and refuses a persistent volume", () => {
    const r = fidelityFromCapabilities(app(web), target, box({ spot: false, autoscale: false, nativeProbes: ["exec"], volumes: ["ephemeral"], rollback: false }));
    expect(r.fidelity.map((f) => [f.field, f.level])).toEqual([
      ["health.http", "approximated"],
      ["scale", "approximated"],
      ["placement.spot", "dropped"],
      ["volumes.data", "dropped"],
      ["rollout.autoRollback", "dropped"],
    ]);
    expect(r.fidelity[0]!.note).toBe("Box runs only command health checks: sdx runs the http probe as a command inside the container, against 127.0.0.1:8080");
    expect(r.fidelity[1]!.note).toBe("Box has no autoscaler: the service runs a fixed 2 replicas (autoscale.min)");
    expect(r.fidelity[2]!.note).toBe("Box has no spot capacity: every replica runs on on-demand capacity");
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_BACKEND_UNSUPPORTED", severity: "error", target: "t", path: "services.web.volumes.data" })]);
  });

  it("drops a probe the backend cannot turn into a command, and an ephemeral volume without a refusal", () => {
    const r = fidelityFromCapabilities(app(web), target, box({ nativeProbes: [], volumes: [] }));
    expect(r.fidelity.filter((f) => f.field.startsWith("health") || f.field.startsWith("volumes")).map((f) => [f.field, f.level])).toEqual([
      ["health.http", "dropped"], ["volumes.cache", "dropped"], ["volumes.data", "dropped"],
    ]);
    expect(r.diagnostics.map((d) => d.path)).toEqual(["services.web.volumes.data"]);
  });
});

describe("mergeCheckReports", () => {
  const derived = fidelityFromCapabilities(app(service("api"), web), target, box({ nativeProbes: ["exec"], autoscale: false }));

  it("keeps a backend's note for a derived field but never a better level than its capabilities allow", () => {
    const own: CheckReport = {
      diagnostics: [{ code: "BOX_X", severity: "warning", path: "", message: "x" }],
      fidelity: [
        { service: "web", field: "image", level: "exact" },
        { service: "web", field: "health.http", level: "exact", note: "curl in the box" },
        { service: "api", field: "image", level: "exact" },
      ],
    };
    const m = mergeCheckReports(app(service("api"), web), derived, own);
    // Grouped by service in app order; the backend's own lines first within a service.
    expect(m.fidelity).toEqual([
      { service: "api", field: "image", level: "exact" },
      { service: "web", field: "image", level: "exact" },
      { service: "web", field: "health.http", level: "approximated", note: "curl in the box" },
      { service: "web", field: "scale", level: "approximated", note: "Box has no autoscaler: the service runs a fixed 2 replicas (autoscale.min)" },
    ]);
    expect(m.diagnostics.map((d) => d.code)).toEqual(["BOX_X"]);
  });

  it("keeps a backend's lower level", () => {
    const m = mergeCheckReports(app(web), derived, { diagnostics: [], fidelity: [{ service: "web", field: "health.http", level: "dropped" }] });
    expect(m.fidelity.find((f) => f.field === "health.http")).toEqual({ service: "web", field: "health.http", level: "dropped", note: expect.stringContaining("command") });
  });
});

describe("fidelityVerdict", () => {
  const line = (level: "exact" | "approximated" | "dropped", breaks?: "discovery" | "public-port" | "persistent-data", service = "api") =>
    ({ service, field: "ports", level, ...(breaks ? { breaks } : {}) });
  it("is exact when every line is exact, approximated with counts otherwise", () => {
    expect(fidelityVerdict({ diagnostics: [], fidelity: [line("exact")] })).toEqual({ kind: "exact" });
    expect(fidelityVerdict({ diagnostics: [], fidelity: [line("approximated"), line("dropped"), line("approximated")] })).toEqual({ kind: "approximated", approximated: 2, dropped: 1 });
  });
  it("is degraded by a line that breaks a dependency, each dependency once", () => {
    const v = fidelityVerdict({ diagnostics: [], fidelity: [line("approximated", "public-port", "web"), line("dropped", "discovery"), line("dropped", "discovery", "quotes"), line("exact", "discovery", "x")] });
    expect(v).toMatchObject({ kind: "degraded", breaks: ["public-port", "discovery"], approximated: 1, dropped: 2 });
    // An exact line breaks nothing, whatever it claims.
    expect(v.kind === "degraded" && v.entries.map((e) => e.service)).toEqual(["web", "api", "quotes"]);
  });
  it("is refused when the check has errors, and a dropped persistent volume says it breaks the data", () => {
    const r = fidelityFromCapabilities(app(web), target, box({ volumes: ["ephemeral"] }));
    expect(r.fidelity).toContainEqual(expect.objectContaining({ service: "web", field: "volumes.data", level: "dropped", breaks: "persistent-data" }));
    expect(fidelityVerdict(r)).toEqual({ kind: "refused", errors: 1 });
  });
  it("keeps the derived break when a backend refines the line", () => {
    const derived: CheckReport = { diagnostics: [], fidelity: [{ service: "web", field: "volumes.data", level: "dropped", note: "derived", breaks: "persistent-data" }] };
    const own: CheckReport = { diagnostics: [], fidelity: [{ service: "web", field: "volumes.data", level: "approximated", note: "own" }] };
    expect(mergeCheckReports(app(web), derived, own).fidelity).toEqual([{ service: "web", field: "volumes.data", level: "dropped", note: "own", breaks: "persistent-data" }]);
  });
});
