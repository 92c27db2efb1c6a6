import { isOwnedBy, type App } from "@sdx/sdk";
import { describeBackendConformance } from "@sdx/sdk/testing";
import { createMemoryBackend, type MemoryStore, type MemoryTarget } from "./memory-backend.js";

/** A store holding another app's workload and a hand-made object. */
function storeWithNeighbour(): MemoryStore {
  const store: MemoryStore = new Map();
  store.set("workload/other-web", { kind: "workload", name: "other-web", labels: { "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": "other", "sdx.dev/service": "web" }, spec: { replicas: 1 }, rolledOut: true });
  store.set("workload/hand-made", { kind: "workload", name: "hand-made", labels: { team: "ops" }, spec: { replicas: 3 }, rolledOut: true });
  return store;
}

describeBackendConformance<MemoryStore, MemoryTarget>({
  name: "memory",
  backend: createMemoryBackend(),
  labelsOf: (r) => (r.body as { labels?: Record<string, string> }).labels,
  targetFor: (_app: App): MemoryTarget => ({ name: "mem", kind: "memory", bucket: "apps", maxObjects: 1000, overrides: [] }),
  live: {
    fake: storeWithNeighbour,
    backendOn: (store) => createMemoryBackend({ store }),
    foreign: (store, app) => [...store.entries()].filter(([, o]) => !isOwnedBy(o.labels, app)),
    // The store is a Map, not a client port: partial applies are tested with its failOn option (third-party-backend.spec.ts).
    faults: false,
  },
});
