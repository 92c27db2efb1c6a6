import { describe, expect, it } from "vitest";
import { builtinTargetKinds } from "../testing/testing.js";
import { validateApp } from "../validation/validate-app.js";
import { validateNormalizedApp } from "../validation/validate-normalized-app.js";
import type { Service } from "./app.js";
import { appJsonSchema } from "./app-schema.js";
import {
  egressBillables, lbCapacityUnits, logsPerMonth, nameList, pricedReplicas, publicIpv4PerLoadBalancer, storedVolumeSize, USAGE_DEFAULTS,
} from "./usage-defaults.js";

const targetKinds = await builtinTargetKinds();
const image = "ghcr.io/acme/web:1.0@sha256:" + "a".repeat(64);
const doc = (web: Record<string, unknown>) => ({ name: "shop", services: { web: { image, ...web } } });
const web = (extra: Record<string, unknown>): Service => validateApp(doc(extra), { targetKinds }).app!.services[0]!;

describe("usage: pricing hints in the model", () => {
  it("normalises sizes to GiB and keeps only what is written", () => {
    expect(web({ usage: { logs: "2Gi", egress: "10Gi", lbCapacityUnits: 2.5, volumeSize: "20Gi" } }).usage)
      .toEqual({ logsGiBPerMonth: 2, egressGiBPerMonth: 10, lbCapacityUnits: 2.5, volumeSizeGiB: 20 });
    expect(web({ usage: { egress: "512Mi" } }).usage).toEqual({ egressGiBPerMonth: 0.5 });
    expect(web({ usage: { logs: 0 } }).usage).toEqual({ logsGiBPerMonth: 0 });
    expect(web({}).usage).toBeUndefined();
    expect(web({ usage: {} }).usage).toBeUndefined();
  });

  it("reports a negative size, a bad unit, a negative LCU count and a misspelt key in one pass, each at its path with a hint", () => {
    const r = validateApp(doc({ usage: { logs: "-1Gi", egress: "10Gb", lbCapacityUnits: -1, volumSize: "2Gi" } }), { targetKinds });
    expect(r.app).toBeUndefined();
    const at = (path: string) => r.diagnostics.find((d) => d.path === path);
    expect(at("services.web.usage.logs")).toMatchObject({ code: "SDX_INVALID_SIZE", severity: "error", message: 'usage.logs must not be negative, got "-1Gi"', hint: expect.stringContaining('"2Gi"') });
    expect(at("services.web.usage.egress")).toMatchObject({ code: "SDX_INVALID_SIZE", message: 'unknown unit "Gb" in usage.egress "10Gb"', hint: expect.stringContaining("Gi") });
    expect(at("services.web.usage.lbCapacityUnits")).toMatchObject({ code: "SDX_OUT_OF_RANGE" });
    expect(at("services.web.usage.volumSize")).toMatchObject({ code: "SDX_UNKNOWN_KEY", suggestions: ["volumeSize"] });
  });

  it("refuses a size without a unit, as for memory", () => {
    const r = validateApp(doc({ usage: { egress: 10 } }), { targetKinds });
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: "SDX_INVALID_SIZE", path: "services.web.usage.egress", message: 'usage.egress "10" has no unit' })]);
  });

  it("survives an app given to the API as an object (written back in the authoring form)", () => {
    const app = validateApp(doc({ usage: { logs: "1G", egress: "10Gi", lbCapacityUnits: 0, volumeSize: "0" } }), { targetKinds }).app!;
    const again = validateNormalizedApp(app, { targetKinds });
    expect(again.diagnostics).toEqual([]);
    expect(again.app!.services[0]!.usage).toEqual(app.services[0]!.usage);
    expect(app.services[0]!.usage).toEqual({ logsGiBPerMonth: 954 / 1024, egressGiBPerMonth: 10, lbCapacityUnits: 0, volumeSizeGiB: 0 });
    const bad = validateNormalizedApp({ ...app, services: [{ ...app.services[0]!, usage: { egressGiBPerMonth: -3 } }] }, { targetKinds });
    expect(bad.diagnostics).toEqual([expect.objectContaining({ code: "SDX_INVALID_SIZE", path: "services.web.usage.egress" })]);
  });

  it("documents each field's default in the JSON Schema, from USAGE_DEFAULTS", () => {
    const schema = appJsonSchema(targetKinds.values()) as { properties: { services: { additionalProperties: { properties: { usage: { properties: Record<string, { description: string }> } } } } } };
    const usage = schema.properties.services.additionalProperties.properties.usage.properties;
    expect(Object.keys(usage)).toEqual(["logs", "egress", "lbCapacityUnits", "volumeSize"]);
    expect(usage.logs!.description).toContain("Default: 0.5 GiB per replica per month");
    expect(usage.egress!.description).toContain("left unpriced");
    expect(usage.lbCapacityUnits!.description).toContain("Default: 1.");
    expect(usage.volumeSize!.description).toContain("else 10 GiB");
  });
});

describe("usage quantities and their basis", () => {
  it("prices logs at the hint, else 0.5 GiB per replica at the autoscaling minimum", () => {
    expect(logsPerMonth(web({ replicas: 3 }))).toEqual({ value: 1.5, basis: "default" });
    expect(logsPerMonth(web({ autoscale: { min: 2, max: 6 } }))).toEqual({ value: 1, basis: "default" });
    expect(logsPerMonth(web({ replicas: 3, usage: { logs: "7Gi" } }))).toEqual({ value: 7, basis: "usage-hint" });
    expect(pricedReplicas(web({ replicas: 0 }))).toBe(0);
  });

  it("sizes stored volume data by the hint, else the volume's size, else 10 GiB", () => {
    const volumes = [{ name: "data", path: "/data", kind: "persistent", size: "512Mi" }, { name: "cache", path: "/cache", kind: "persistent" }];
    const s = web({ volumes });
    expect(storedVolumeSize(s, s.volumes[0]!)).toEqual({ value: 0.5, basis: "declared" });
    expect(storedVolumeSize(s, s.volumes[1]!)).toEqual({ value: USAGE_DEFAULTS.volumeSizeGiB, basis: "default" });
    const hinted = web({ volumes, usage: { volumeSize: "20Gi" } });
    expect(storedVolumeSize(hinted, hinted.volumes[0]!)).toEqual({ value: 20, basis: "usage-hint" });
  });

  it("takes load balancer capacity units from the hint, else 1", () => {
    expect(lbCapacityUnits(web({}))).toEqual({ value: 1, basis: "default" });
    expect(lbCapacityUnits(web({ usage: { lbCapacityUnits: 3 } }))).toEqual({ value: 3, basis: "usage-hint" });
  });

  it("prices egress only where a service states it, and names the services that do not", () => {
    const app = validateApp({
      name: "shop",
      services: Object.fromEntries(["a", "b", "c", "d", "e", "f", "g"].map((n, i) => [n, { image, ...(i < 2 ? { usage: { egress: i === 0 ? "10Gi" : 0 } } : {}) }])),
    }, { targetKinds }).app!;
    const r = egressBillables(app.services);
    expect(r.items).toEqual([{ kind: "egress", service: "a", gibPerMonth: 10, basis: "usage-hint" }]);
    expect(r.unpriced).toEqual(["data sent to the internet by c, d, e, f, g: set usage.egress (GiB per month) to price it"]);
    expect(egressBillables(app.services.slice(0, 2)).unpriced).toEqual([]);
    expect(nameList(["a", "b", "c", "d", "e", "f", "g"])).toBe("a, b, c, d, e and 2 more");
  });

  it("counts the public IPv4 addresses of one load balancer by cloud", () => {
    expect([publicIpv4PerLoadBalancer("aws"), publicIpv4PerLoadBalancer("gcp"), publicIpv4PerLoadBalancer("azure"), publicIpv4PerLoadBalancer(undefined)]).toEqual([2, 1, 1, 1]);
  });
});
