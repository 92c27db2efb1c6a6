import { LABEL_APP, LABEL_SERVICE, isOwnedBy, toSdxError, type BackendDestroyResult, type ResourceRef } from "@sdx/sdk";
import type { K8sClient } from "./client/k8s-client.js";
import { MANAGED_KINDS } from "./k8s-kinds.js";
import type { K8sTarget } from "./k8s-target.js";
import { mapBounded } from "./plan/map-bounded.js";

/** Deletes in flight at once. */
const DESTROY_CONCURRENCY = 8;

/**
 * Deletes every object of a managed kind in the target's namespace that
 * carries this app's ownership labels (by uid, so a same-named object created
 * meanwhile survives). Keeps going past a failure and reports every object it
 * could not remove.
 */
export async function destroyK8s(client: K8sClient, target: K8sTarget, appName: string, signal?: AbortSignal): Promise<BackendDestroyResult> {
  const ns = target.namespace;
  const lists = await Promise.all(MANAGED_KINDS.map((k) => client.list(k, ns, { labelSelector: `${LABEL_APP}=${appName}` }, signal)));
  // The label selector is a filter, not the proof: isOwnedBy checks managed-by too.
  const mine = lists.flat().filter((o) => isOwnedBy(o.metadata.labels, appName));
  const deleted: ResourceRef[] = [];
  const failed: BackendDestroyResult["failed"][number][] = [];
  await mapBounded(mine, DESTROY_CONCURRENCY, async (o) => {
    const ref: ResourceRef = { kind: o.kind ?? "", name: o.metadata.name, ...(o.metadata.labels?.[LABEL_SERVICE] ? { service: o.metadata.labels[LABEL_SERVICE] } : {}) };
    try {
      await client.delete(ref.kind, ref.name, ns, { ...(o.metadata.uid ? { uid: o.metadata.uid } : {}), propagation: "Background" }, signal);
      deleted.push(ref);
    } catch (e) {
      failed.push({ resource: ref, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
    }
  });
  const order = (r: ResourceRef): string => `${r.kind}/${r.name}`;
  deleted.sort((a, b) => order(a).localeCompare(order(b)));
  return { deleted, failed };
}
