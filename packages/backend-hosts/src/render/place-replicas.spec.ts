import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Service } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import type { HostSpec, HostsTarget } from "../hosts-target.js";
import { placeReplicas } from "./place-replicas.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The services of an app written as YAML (with one hosts target, unused by placeReplicas itself). */
async function services(yaml: string): Promise<Service[]> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-hosts-place-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), `name: demo\n${yaml}\ntargets:\n  hosts:\n    kind: hosts\n    hosts: [{ name: h1, address: 10.0.0.1 }]\n`);
  const ctx = await exampleContext<HostsTarget>(join(dir, "sdx.yaml"), { kind: "hosts" });
  return [...ctx.app.services];
}

const img = `registry.test/x@sha256:${"3".repeat(64)}`;
function host(name: string, patch: Partial<HostSpec> = {}): HostSpec {
  return { name, address: `${name}.test`, user: "root", port: 22, labels: {}, capacity: "on-demand", ...patch };
}
const where = (r: ReturnType<typeof placeReplicas>, service: string): string[] => r.placements.filter((p) => p.service === service).map((p) => p.host);

describe("placeReplicas", () => {
  it("spreads a service's replicas over the hosts, fewest replicas first, then the target's order", async () => {
    const svcs = await services(`services:\n  api: { image: "${img}", replicas: 5 }`);
    const r = placeReplicas(svcs, [host("h1"), host("h2"), host("h3")], "t");
    expect(where(r, "api")).toEqual(["h1", "h2", "h3", "h1", "h2"]);
    expect(r.placements.map((p) => p.slot)).toEqual([0, 1, 2, 3, 4]);
    expect(r.diagnostics).toEqual([]);
  });

  it("runs a service only on hosts whose labels match its constraints, and says so when none does", async () => {
    const svcs = await services(`services:
  edge: { image: "${img}", replicas: 2, placement: { constraints: { role: edge } } }
  db: { image: "${img}", placement: { constraints: { disk: ssd } } }`);
    const r = placeReplicas(svcs, [host("h1"), host("h2", { labels: { role: "edge" } }), host("h3", { labels: { role: "edge" } })], "t");
    expect(where(r, "edge")).toEqual(["h2", "h3"]);
    expect(where(r, "db")).toEqual([]);
    expect(r.diagnostics).toEqual([expect.objectContaining({
      code: "SDX_PLACEMENT", severity: "error", path: "services.db", target: "t",
      message: "no host of the target can run db: none matches disk=ssd, spot: never",
    })]);
  });

  it("honours spot: never and only, and prefers spot hosts after minOnDemand on-demand replicas", async () => {
    const svcs = await services(`services:
  never: { image: "${img}", replicas: 2, placement: { spot: never } }
  only: { image: "${img}", replicas: 2, placement: { spot: only } }
  prefer: { image: "${img}", replicas: 4, placement: { spot: prefer, minOnDemand: 1 } }`);
    const hosts = [host("od1"), host("od2"), host("spot1", { capacity: "spot" }), host("spot2", { capacity: "spot" })];
    const r = placeReplicas(svcs, hosts, "t");
    expect(where(r, "never")).toEqual(["od1", "od2"]);
    expect(where(r, "only")).toEqual(["spot1", "spot2"]);
    // Slot 0 must be on-demand; then spot first among the hosts with the fewest replicas.
    expect(where(r, "prefer")).toEqual(["od1", "spot1", "spot2", "od2"]);
    const none = placeReplicas(svcs.filter((s) => s.name === "only"), [host("od1")], "t");
    expect(none.diagnostics.map((d) => d.message)).toEqual(["no host of the target can run only: none matches spot: only"]);
  });

  it("runs at most one replica per host of a service with a public port, and says why the others do not fit", async () => {
    const svcs = await services(`services:\n  web: { image: "${img}", replicas: 3, ports: [{ port: 8080, public: true }] }`);
    const r = placeReplicas(svcs, [host("h1"), host("h2")], "t");
    expect(where(r, "web")).toEqual(["h1", "h2"]);
    expect(r.diagnostics).toEqual([expect.objectContaining({
      code: "SDX_PLACEMENT", severity: "error", path: "services.web.scale",
      message: "only 2 of 3 replicas of web fit on the hosts: it publishes a public port, so each host runs at most one replica and only 2 host(s) may run it",
    })]);
  });

  it("packs against the hosts' declared CPU and memory", async () => {
    const svcs = await services(`services:\n  api: { image: "${img}", replicas: 5, resources: { cpu: 500m, memory: 512Mi } }`);
    const r = placeReplicas(svcs, [host("h1", { cpuMillis: 2000, memoryMiB: 1024 }), host("h2", { cpuMillis: 1000, memoryMiB: 4096 })], "t");
    // h1 fits two by memory, h2 two by CPU.
    expect(where(r, "api").sort()).toEqual(["h1", "h1", "h2", "h2"]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "only 4 of 5 replicas of api fit on the hosts: the hosts it may run on have too little declared CPU or memory left (500m / 512 MiB per replica)",
    ]);
  });

  it("is stable: adding a replica or a service moves no replica already placed", async () => {
    const before = await services(`services:
  api: { image: "${img}", replicas: 3 }
  web: { image: "${img}", replicas: 2, ports: [{ port: 80, public: true }] }
  worker: { image: "${img}", replicas: 2, placement: { spot: prefer, minOnDemand: 1 } }`);
    const after = await services(`services:
  api: { image: "${img}", replicas: 4 }
  web: { image: "${img}", replicas: 2, ports: [{ port: 80, public: true }] }
  extra: { image: "${img}", replicas: 2 }
  worker: { image: "${img}", replicas: 3, placement: { spot: prefer, minOnDemand: 1 } }`);
    const hosts = [host("h1"), host("h2"), host("h3", { capacity: "spot" })];
    const key = (p: { service: string; slot: number; host: string }): string => `${p.service}-${p.slot}@${p.host}`;
    const a = placeReplicas(before, hosts, "t").placements.map(key);
    const b = placeReplicas(after, hosts, "t").placements.map(key);
    expect(b).toEqual(expect.arrayContaining(a));
    expect(b.length).toBe(a.length + 4);
    // And deterministic whatever the order of the services.
    expect(placeReplicas([...after].reverse(), hosts, "t").placements.map(key)).toEqual(b);
  });
});
