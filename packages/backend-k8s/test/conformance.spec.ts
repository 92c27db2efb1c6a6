import { resolve } from "node:path";
import { dumpYaml } from "@kubernetes/client-node";
import { isOwnedBy, type Resource } from "@sdx/sdk";
import { REPO_ROOT, describeBackendConformance } from "@sdx/sdk/testing";
import type { K8sClient } from "../src/client/k8s-client.js";
import { K8sBackend } from "../src/index.js";
import { FakeK8s } from "./fake-k8s.js";

/** A cluster with the shop's namespace and objects sdx must never touch: unlabelled, and labelled like the app but not managed by sdx. */
function freshCluster(): FakeK8s {
  const ns = "shop";
  const f = new FakeK8s();
  f.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  f.seed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "foreign-settings", namespace: ns, labels: { team: "ops" } }, data: { a: "b" } });
  f.seed({ apiVersion: "v1", kind: "Secret", metadata: { name: "api-secrets-foreign", namespace: ns, labels: { "sdx.dev/app": "shop" } }, data: { k: "dg==" } });
  f.seed({
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "cache", namespace: ns, labels: { app: "cache" } },
    spec: { replicas: 1, selector: { matchLabels: { app: "cache" } }, template: { metadata: { labels: { app: "cache" } }, spec: { containers: [{ name: "cache", image: "redis:7" }] } } },
    status: { observedGeneration: 0 },
  });
  f.settle();
  return f;
}

/** Objects not owned by the app, as written (controller-made ReplicaSets and Pods change with time, not with sdx). */
function foreign(f: FakeK8s, app: string): unknown {
  return [...f.objects.entries()]
    .filter(([, o]) => !["ReplicaSet", "Pod"].includes(o.kind) && !isOwnedBy(o.metadata.labels, app))
    .map(([k, o]) => ({ k, labels: o.metadata.labels, spec: o.spec, data: o.data }))
    .sort((a, b) => a.k.localeCompare(b.k));
}

describeBackendConformance<FakeK8s>({
  name: "k8s",
  backend: new K8sBackend(),
  labelsOf: (r: Resource) => (r.body as { metadata?: { labels?: Record<string, string> } }).metadata?.labels,
  goldens: {
    dir: resolve(REPO_ROOT, "packages/backend-k8s/golden"),
    ext: "yaml",
    // JSON first: Redacted values print as "[redacted]", never as themselves.
    serialize: (rs) => (JSON.parse(JSON.stringify(rs.map((r) => r.body))) as object[]).map((o) => dumpYaml(o)).join("---\n"),
  },
  live: {
    fake: freshCluster,
    backendOn: (client: K8sClient) => new K8sBackend({ clientFor: () => client, waitSeams: { minPollMs: 1, maxPollMs: 2 } }),
    foreign,
  },
});
