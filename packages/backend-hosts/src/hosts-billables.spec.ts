import { validateApp, type App } from "@sdx/sdk";
import { builtinTargetKinds } from "@sdx/sdk/testing";
import { describe, expect, it } from "vitest";
import { HostsBackend } from "./hosts-backend.js";
import { hostsBillables } from "./hosts-billables.js";
import type { HostsTarget } from "./hosts-target.js";

const targetKinds = await builtinTargetKinds();
const image = "ghcr.io/acme/web:1.0@sha256:" + "a".repeat(64);

function appOf(hosts: Record<string, unknown>[], services: Record<string, unknown> = { web: { image, ports: [{ port: 80, public: true }] } }): App {
  const r = validateApp({ name: "app", services, targets: { hosts: { kind: "hosts", pricing: { provider: "aws", region: "us-east-1", nodeTypes: [] }, hosts } } }, { targetKinds });
  if (!r.app) throw new Error(JSON.stringify(r.diagnostics));
  return r.app;
}
const targetOf = (app: App): HostsTarget => app.targets[0] as HostsTarget;

describe("hostsBillables", () => {
  it("prices a root disk and a public address per cloud host, and says the flat-priced host includes both", () => {
    const app = appOf([
      { name: "vm-a", address: "203.0.113.10", instanceType: "t3.medium" },
      { name: "vm-b", address: "vm-b.example.com", instanceType: "t3.medium" },
      { name: "box", address: "198.51.100.7", monthlyUsd: 12 },
    ]);
    expect(hostsBillables(app, targetOf(app))).toEqual({
      items: [
        { kind: "block-storage", sizeGiB: 20, count: 2, basis: "default" },
        { kind: "public-ipv4", count: 2 },
      ],
      unpriced: [
        "disks and addresses of box: included in their monthlyUsd",
        "data sent to the internet by web: set usage.egress (GiB per month) to price it",
      ],
    });
  });

  it("assumes no public address for a cloud host reached at a private, loopback or IPv6 address", () => {
    const app = appOf([
      { name: "a", address: "10.0.0.5", instanceType: "t3.small" },
      { name: "b", address: "172.20.1.1", instanceType: "t3.small" },
      { name: "c", address: "192.168.1.9", instanceType: "t3.small" },
      { name: "d", address: "2001:db8::1", instanceType: "t3.small" },
      { name: "e", address: "172.32.0.1", instanceType: "t3.small" },
    ]);
    const b = hostsBillables(app, targetOf(app));
    expect(b.items).toEqual([
      { kind: "block-storage", sizeGiB: 20, count: 5, basis: "default" },
      // 172.32.0.1 is outside 172.16.0.0/12: a public address.
      { kind: "public-ipv4", count: 1 },
    ]);
    expect(b.unpriced[0]).toBe("public IPv4 addresses of a, b, c, d: reached at a private or IPv6 address, so none is assumed");
  });

  it("adds nothing for persistent volumes (they are directories on the hosts' disks) and prices stated egress", () => {
    const app = appOf([{ address: "203.0.113.10", monthlyUsd: 20 }], {
      db: { image, volumes: [{ name: "data", path: "/data", kind: "persistent", size: "50Gi" }], usage: { egress: "3Gi", volumeSize: "40Gi" } },
    });
    expect(hostsBillables(app, targetOf(app))).toEqual({
      items: [{ kind: "egress", service: "db", gibPerMonth: 3, basis: "usage-hint" }],
      unpriced: ["disks and addresses of 203.0.113.10: included in their monthlyUsd"],
    });
  });

  it("is what the backend and its light target spec both declare", () => {
    const app = appOf([{ name: "vm", address: "203.0.113.10", instanceType: "t3.medium" }]);
    const backend = new HostsBackend();
    expect(backend.billables(app, targetOf(app))).toEqual(hostsBillables(app, targetOf(app)));
    expect(backend.target.billables!(app, targetOf(app))).toEqual(hostsBillables(app, targetOf(app)));
  });
});
