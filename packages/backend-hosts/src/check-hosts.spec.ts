import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { App, BackendContext, Service } from "@sdx/sdk";
import { exampleContext } from "@sdx/sdk/testing";
import { checkHosts } from "./check-hosts.js";
import type { HostsTarget } from "./hosts-target.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const img = `registry.test/x@sha256:${"4".repeat(64)}`;
async function context(services: string, hosts = "[{ name: h1, address: 10.0.0.1 }, { name: h2, address: 10.0.0.2 }]"): Promise<BackendContext<HostsTarget>> {
  const dir = mkdtempSync(join(tmpdir(), "sdx-hosts-check-"));
  dirs.push(dir);
  writeFileSync(join(dir, "sdx.yaml"), `name: demo\nservices:\n${services}\ntargets:\n  hosts:\n    kind: hosts\n    hosts: ${hosts}\n`);
  return exampleContext<HostsTarget>(join(dir, "sdx.yaml"), { kind: "hosts" }, { DEMO_TOKEN: "t0ken" });
}

describe("checkHosts", () => {
  it("reports what plain hosts approximate, per service and field", async () => {
    const ctx = await context(`  web:
    image: "${img}"
    ports: [{ port: 8080, public: true }]
    health: { http: { path: /, port: 8080 } }
    autoscale: { min: 2, max: 4, targetCpu: 70 }
  api:
    image: "${img}"
    ports: [{ port: 9090 }]
    secrets: { token: { fromEnv: DEMO_TOKEN, asEnv: TOKEN } }
    rollout: { strategy: recreate }
  db:
    image: "${img}"
    replicas: 2
    volumes: [{ name: data, path: /data, kind: persistent, size: 10Gi }]`);
    const { diagnostics, fidelity } = checkHosts(ctx);
    expect(diagnostics).toEqual([]);
    const lines = fidelity.map((f) => `${f.service}.${f.field} ${f.level}`);
    expect(lines).toEqual(expect.arrayContaining([
      "web.health.http approximated", "web.ports.public approximated", "web.scale approximated", "web.rollout approximated",
      "api.secrets.token.asEnv exact", "api.ports approximated",
      "db.volumes.data approximated", "db.volumes.data.sizeMiB dropped",
    ]));
    // A recreate rollout is what hosts do: no line for it.
    expect(lines).not.toContain("api.rollout approximated");
    const note = (field: string): string | undefined => fidelity.find((f) => f.field === field)?.note;
    expect(note("scale")).toBe("no autoscaler on plain hosts: runs its minimum, 2 replica(s)");
    expect(note("ports")).toBe("reached by name (api:9090) only from containers on the same host: each host has its own app network and no overlay joins them");
    expect(note("volumes.data")).toContain("each host keeps its own data");
    // Across hosts, reaching api by name breaks; the public port does not (each host answers at its own address).
    expect(fidelity.filter((f) => f.breaks).map((f) => `${f.service}.${f.field} ${f.breaks}`)).toEqual(["api.ports discovery"]);
    expect(note("secrets.token.asEnv")).toContain("0400 env file");
  });

  it("on a single host, internal ports and persistent volumes are exact", async () => {
    const ctx = await context(`  api:
    image: "${img}"
    ports: [{ port: 9090 }]
    volumes: [{ name: data, path: /data, kind: persistent }]`, "[{ name: h1, address: 10.0.0.1 }]");
    const lines = checkHosts(ctx).fidelity.map((f) => `${f.service}.${f.field} ${f.level}`);
    expect(lines).toContain("api.volumes.data exact");
    expect(lines).not.toContain("api.ports approximated");
    expect(checkHosts(ctx).fidelity.filter((f) => f.breaks)).toEqual([]);
  });

  it("refuses secret sources the hosts cannot read, with the path of the secret", async () => {
    const ctx = await context(`  api:\n    image: "${img}"`);
    const api = ctx.app.services[0]!;
    const withSecret = { ...api, secrets: [{ name: "db", source: { kind: "kubernetes-secret", name: "db", key: "password" }, asEnv: "DB" }] } as unknown as Service;
    const report = checkHosts({ ...ctx, app: { ...ctx.app, services: [withSecret] } as App });
    expect(report.diagnostics).toEqual([expect.objectContaining({
      code: "SDX_BACKEND_UNSUPPORTED", severity: "error", target: "hosts", path: "services.api.secrets.db",
      message: 'secret source "kubernetes-secret" is not supported on hosts: plain Docker hosts cannot read Kubernetes secrets',
      hint: expect.stringContaining("fromEnv or fromFile"),
    })]);
  });

  it("reports placement that cannot be met as errors", async () => {
    const ctx = await context(`  web:\n    image: "${img}"\n    replicas: 3\n    ports: [{ port: 80, public: true }]`);
    expect(checkHosts(ctx).diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual(["SDX_PLACEMENT services.web.scale"]);
  });
});
