import { resolve } from "node:path";
import { stringify } from "yaml";
import type { Resource } from "@sdx/sdk";
import { REPO_ROOT, describeBackendConformance, fakeClock } from "@sdx/sdk/testing";
import { SwarmBackend } from "../src/index.js";
import type { SwarmClient } from "../src/client/swarm-client.js";
import { engineWithNeighbour, FakeSwarmEngine } from "./fake-swarm-engine.js";



describeBackendConformance<FakeSwarmEngine>({
  name: "swarm",
  backend: new SwarmBackend(),
  labelsOf: (r: Resource) => (r.body as { Labels?: Record<string, string> }).Labels,
  goldens: {
    dir: resolve(REPO_ROOT, "packages/backend-swarm/golden"),
    ext: "yaml",
    serialize: (rs) => stringify(JSON.parse(JSON.stringify(rs)), { lineWidth: 0 }),
  },
  live: {
    fake: engineWithNeighbour,
    backendOn: (client: SwarmClient) => new SwarmBackend({ connect: async () => client, waitSeams: { ...fakeClock(), pollMs: 500 } }),
    foreign: (e, app) => e.foreign(app),
  },
});
