import { LABEL_APP, isOwnedBy, toSdxError, type BackendDestroyResult, type ResourceRef, type SdxErrorData } from "@sdx/sdk";
import type { SwarmClient } from "./client/swarm-client.js";
import { removeNetworkPatiently } from "./apply/apply-swarm.js";

/**
 * Removes the app's services, then its secrets and configs, then its network:
 * only objects carrying this app's ownership labels. Keeps going past a
 * failure and reports every object it could not remove.
 */
export async function destroySwarm(client: SwarmClient, appName: string, signal?: AbortSignal): Promise<BackendDestroyResult> {
  const deleted: ResourceRef[] = [];
  const failed: { resource: ResourceRef; error: SdxErrorData }[] = [];
  const attempt = async (resource: ResourceRef, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
      deleted.push(resource);
    } catch (e) {
      failed.push({ resource, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
    }
  };
  const label = `${LABEL_APP}=${appName}`;
  const services = (await client.listServices(label)).filter((s) => isOwnedBy(s.Spec.Labels, appName));
  await Promise.all(services.map((s) => attempt({ kind: "service", name: s.Spec.Name }, () => client.removeService(s.ID))));
  const [secrets, configs, networks] = await Promise.all([client.listSecrets(), client.listConfigs(), client.listNetworks()]);
  await Promise.all([
    ...secrets.filter((s) => isOwnedBy(s.Spec.Labels, appName)).map((s) => attempt({ kind: "secret", name: s.Spec.Name }, () => client.removeSecret(s.ID))),
    ...configs.filter((s) => isOwnedBy(s.Spec.Labels, appName)).map((s) => attempt({ kind: "config", name: s.Spec.Name }, () => client.removeConfig(s.ID))),
  ]);
  for (const n of networks.filter((x) => isOwnedBy(x.Labels, appName))) {
    await attempt({ kind: "network", name: n.Name }, () => removeNetworkPatiently(client, n.Id, signal));
  }
  return { deleted, failed };
}
