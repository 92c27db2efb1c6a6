import { resolve } from "node:path";
import { stringify } from "yaml";
import type { App, Resource } from "@sdx/sdk";
import { REPO_ROOT, describeBackendConformance, fakeClock } from "@sdx/sdk/testing";
import { HostsBackend, type HostsTarget } from "../src/index.js";
import { dockerHostFor, fakeConnect, hostsWithNeighbours, type FakeDockerHosts } from "./fake-docker-hosts.js";

/** Two hosts, the second labelled, with every setting at its default (as the target kind normalises them). */
export function twoHosts(name = "hosts"): HostsTarget {
  return {
    name, kind: "hosts", overrides: [],
    hosts: [
      { name: "h1", address: "10.0.0.1", user: "root", port: 22, labels: {}, capacity: "on-demand" },
      { name: "h2", address: "10.0.0.2", user: "root", port: 22, labels: { role: "edge" }, capacity: "on-demand" },
    ],
    agent: true, fingerprints: {}, images: "pull", dataDir: "/var/lib/sdx", connectTimeoutSeconds: 10,
  };
}

describeBackendConformance<FakeDockerHosts, HostsTarget>({
  name: "hosts",
  backend: new HostsBackend(),
  // The container's ownership labels ride beside its body at render (`ownership`); apply adds the revision.
  labelsOf: (r: Resource) => (r.body as { ownership?: Record<string, string> }).ownership,
  targetFor: (_app: App) => twoHosts(),
  goldens: {
    dir: resolve(REPO_ROOT, "packages/backend-hosts/golden"),
    ext: "yaml",
    serialize: (rs) => stringify(JSON.parse(JSON.stringify(rs)), { lineWidth: 0 }),
  },
  live: {
    fake: () => hostsWithNeighbours("shop"),
    backendOn: (client) => new HostsBackend({
      connect: fakeConnect(client),
      createDockerHost: (conn) => dockerHostFor(client, conn),
      applySeams: { ...fakeClock(), pollMs: 1000, settleSeconds: 0, actor: "test@machine" },
    }),
    foreign: (fake, app) => fake.foreign(app),
    // Every call of a clean deploy fails once (about 75 runs, in memory and on a fake clock).
    faults: { maxRuns: 200 },
  },
});
