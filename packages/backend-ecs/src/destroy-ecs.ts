import { isOwnedBy, toSdxError, type BackendDestroyResult, type ResourceRef } from "@sdx/sdk";
import type { EcsPort } from "./client/ecs-port.js";
import type { EcsTarget } from "./ecs-target.js";
import { familyOf, parameterPath, scalingResourceId, tagRecord, TAG_SERVICE } from "./render/ecs-names.js";
import { ownedServices } from "./status-ecs.js";

/**
 * Removes the app's scaling targets and services, the task-definition families
 * they ran, its SSM parameters, then the cluster if sdx created it and it is
 * empty: only objects tagged for this app. Keeps going past a failure and
 * reports every object it could not remove.
 */
export async function destroyEcs(port: EcsPort, target: EcsTarget, app: string): Promise<BackendDestroyResult> {
  const deleted: ResourceRef[] = [];
  const failed: BackendDestroyResult["failed"][number][] = [];
  const attempt = async (ref: ResourceRef, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      deleted.push(ref);
      return true;
    } catch (e) {
      failed.push({ resource: ref, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
      return false;
    }
  };
  const { clusters, missing } = await port.describeClusters([target.cluster]);
  // Services whose delete failed may still start tasks that read their parameters.
  const kept = new Set<string>();
  if (missing.length === 0) {
    const owned = await ownedServices(port, target.cluster, app);
    // Only existing scaling targets: deregistering a missing one is an error on some APIs (moto: ValidationException).
    const scaled = new Set((await port.describeScalableTargets(owned.map((s) => scalingResourceId(target.cluster, s.serviceName!)))).map((t) => t.ResourceId));
    for (const s of owned) {
      const name = s.serviceName!;
      if (scaled.has(scalingResourceId(target.cluster, name))) {
        await attempt({ kind: "scaling", name, service: name }, () => port.deregisterScalableTarget(scalingResourceId(target.cluster, name)));
      }
      const gone = await attempt({ kind: "service", name, service: name }, async () => {
        await port.updateService({ cluster: target.cluster, service: name, desiredCount: 0 });
        await port.deleteService(target.cluster, name);
      });
      if (!gone) kept.add(name);
      // Families are account-wide, not per cluster: only the family this service ran goes, and only when sdx tagged it for this app.
      if (gone && s.taskDefinition) {
        const family = familyOf(s.taskDefinition);
        const td = await port.describeTaskDefinition(s.taskDefinition);
        if (isOwnedBy(tagRecord(td.tags), app)) {
          await attempt({ kind: "task-definition", name: family, service: name }, async () => {
            for (const arn of await port.listTaskDefinitions(family)) await port.deregisterTaskDefinition(arn);
          });
        }
      }
    }
  }
  // The SecureString parameters sdx stored for this app's env/file secrets on this cluster (tagged for the app).
  try {
    for (const p of await port.describeParameters(parameterPath(app, target.cluster))) {
      const tags = await port.listParameterTags(p.name);
      if (!tags || !isOwnedBy(tags, app) || kept.has(tags[TAG_SERVICE] ?? "")) continue;
      await attempt({ kind: "ssm-parameter", name: p.name, ...(tags[TAG_SERVICE] ? { service: tags[TAG_SERVICE] } : {}) }, () => port.deleteParameter(p.name));
    }
  } catch (e) {
    // Listing failed (e.g. no SSM permission): report it and still remove the cluster.
    failed.push({ resource: { kind: "ssm-parameter", name: `${parameterPath(app, target.cluster)}/*` }, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
  }
  const cl = clusters[0];
  if (cl && isOwnedBy(tagRecord(cl.tags), app)) {
    // Only an empty cluster that sdx created for this app goes.
    const left = (await port.describeServices(target.cluster, await port.listServices(target.cluster))).services;
    if (left.length === 0) await attempt({ kind: "cluster", name: target.cluster }, () => port.deleteCluster(target.cluster));
  }
  return { deleted, failed };
}
