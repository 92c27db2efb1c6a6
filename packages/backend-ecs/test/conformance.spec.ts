import { resolve } from "node:path";
import type { Resource } from "@sdx/sdk";
import { REPO_ROOT, describeBackendConformance, fakeClock } from "@sdx/sdk/testing";
import { EcsBackend } from "../src/ecs-backend.js";
import type { EcsPort } from "../src/client/ecs-port.js";
import { FakeEcs } from "./fake-ecs.js";


/** An account with another app's service, task definition and parameter in the shop's cluster. */
async function accountWithNeighbour(): Promise<FakeEcs> {
  const polls = 3;
  const f = new FakeEcs(polls);
  await f.createCluster({ clusterName: "shop", tags: [{ key: "team", value: "platform" }] });
  const other = [{ key: "sdx:app", value: "other" }];
  await f.registerTaskDefinition({ family: "other-api", containerDefinitions: [{ name: "api", image: "busybox" }], tags: other });
  await f.createService({ cluster: "shop", serviceName: "billing", taskDefinition: "other-api", desiredCount: 1, tags: other });
  for (let i = 0; i < polls; i++) await f.describeServices("shop", ["billing"]);
  await f.putParameter({ Name: "/sdx/other/shop/api/db-password", Value: "other-secret", Type: "SecureString", Tags: [{ Key: "sdx:app", Value: "other" }] });
  return f;
}

/**
 * ECS keeps ownership in tags: `[{key, value}]` on ECS objects, `[{Key, Value}]`
 * on SSM parameters, a record on log groups. A scaling target has none of its
 * own: it belongs to the ECS service it scales (plan, status and destroy find
 * it through the owned services), so it carries that service's.
 */
function tagsOf(r: Resource, all: readonly Resource[]): Record<string, string> | undefined {
  if (r.kind === "scaling") {
    const owner = all.find((x) => x.kind === "service" && x.name === r.name);
    return owner ? tagsOf(owner, all) : undefined;
  }
  const b = r.body as { tags?: unknown; Tags?: unknown };
  const raw = b.tags ?? b.Tags;
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) return raw as Record<string, string>;
  return Object.fromEntries((raw as { key?: string; Key?: string; value?: string; Value?: string }[]).map((t) => [t.key ?? t.Key, t.value ?? t.Value]));
}

describeBackendConformance<FakeEcs>({
  name: "ecs",
  backend: new EcsBackend(),
  labelsOf: tagsOf,
  goldens: {
    dir: resolve(REPO_ROOT, "packages/backend-ecs/golden"),
    ext: "json",
    serialize: (rs) => `${JSON.stringify(rs, null, 2)}\n`,
    extraApps: { "shop-ecs": resolve(REPO_ROOT, "packages/backend-ecs/test/fixtures/shop-ecs/sdx.yaml") },
  },
  live: {
    fake: accountWithNeighbour,
    backendOn: (port: EcsPort) => new EcsBackend({ portFactory: () => port, waitSeams: { clock: fakeClock(), pollMs: 5000 } }),
    foreign: (f, app) => f.foreign(app),
  },
});
