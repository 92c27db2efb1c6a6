import { resolve } from "node:path";
import { stringify } from "yaml";
import { SdxError, type Resource } from "@sdx/sdk";
import { REPO_ROOT, describeBackendConformance } from "@sdx/sdk/testing";
import { SwarmBackend } from "../src/index.js";
import type { SwarmClient } from "../src/client/swarm-client.js";
import { FakeSwarmEngine } from "./fake-swarm-engine.js";

/** A clock that moves only when a wait sleeps, so rollout waits take no real time. */
function fakeTime() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal): Promise<void> => {
      if (signal?.aborted) throw new SdxError("SDX_ABORTED", "The operation was aborted.", { fault: "user" });
      t += ms;
      await Promise.resolve();
    },
    pollMs: 500,
  };
}

/** An engine with another app's service, secret and network, and a hand-made secret. */
async function engineWithNeighbour(): Promise<FakeSwarmEngine> {
  const e = new FakeSwarmEngine();
  const labels = { "sdx.dev/app": "other", "app.kubernetes.io/managed-by": "sdx" };
  await e.createNetwork({ Name: "other_default", Driver: "overlay", Labels: labels });
  await e.createSecret({ Name: "other_api_db-password-12345678", Labels: labels, data: "other-secret" });
  await e.createService({ Name: "other_api", Labels: labels, Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: "busybox" }, Networks: [{ Target: "other_default" }] } });
  await e.createSecret({ Name: "hand-made", Labels: {}, data: "x" });
  // Its rollout finishes before the test: only sdx could change it from here.
  await e.inspectService("other_api");
  await e.inspectService("other_api");
  return e;
}

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
    backendOn: (client: SwarmClient) => new SwarmBackend({ connect: async () => client, waitSeams: fakeTime() }),
    foreign: (e, app) => e.foreign(app),
  },
});
