import type { BackendDestroyResult, ResourceRef, SdxErrorData } from "@sdx/sdk";
import { toSdxError } from "@sdx/sdk";
import type { HostPool } from "./client/host-pool.js";
import { appDir, networkName } from "./render/host-names.js";
import { observeHosts } from "./plan/observe-hosts.js";

/**
 * Removes every container with this app's ownership labels on every host, the
 * app network and its files (secrets, config files), under each host's lock;
 * persistent volume data (`<dataDir>/<app>/volumes`) and the audit log are
 * kept. Containers without the labels are never touched.
 */
export async function destroyHosts(pool: HostPool, app: string, dataDir: string, actor: string, signal?: AbortSignal): Promise<BackendDestroyResult> {
  const deleted: ResourceRef[] = [];
  const failed: { resource: ResourceRef; error: SdxErrorData }[] = [];
  const releases: (() => Promise<void>)[] = [];
  const hosts = [...pool.hosts.values()].sort((a, b) => a.host.name.localeCompare(b.host.name));
  try {
    for (const h of hosts) releases.push(await h.lock(dataDir, app, `${actor} pid ${process.pid} (destroy)`, signal));
    const live = await observeHosts(pool, app, signal);
    for (const c of live.containers) {
      const ref: ResourceRef = { kind: "container", name: `${c.name}@${c.hostName}`, ...(c.labels["sdx.dev/service"] ? { service: c.labels["sdx.dev/service"] } : {}) };
      try {
        await pool.get(c.hostName).remove(c.id, signal);
        deleted.push(ref);
      } catch (e) {
        failed.push({ resource: ref, error: toSdxError(e, "SDX_BACKEND_ERROR", "backend").toJSON() });
      }
    }
    for (const h of hosts) {
      const leftover = failed.some((f) => f.resource.name.endsWith(`@${h.host.name}`));
      if (leftover) continue;
      await h.removeNetwork(networkName(app), signal).catch(() => undefined);
      const dir = appDir(dataDir, app);
      const services = `${dir}/services`;
      if ((await h.listDir(services, signal)).length) {
        await h.removePaths([services], dir, signal);
        deleted.push({ kind: "files", name: `${services}@${h.host.name}` });
      }
      await h.audit(dataDir, { at: new Date().toISOString(), action: "destroy", outcome: "succeeded", app, by: actor });
    }
  } finally {
    for (const r of releases.reverse()) await r().catch(() => undefined);
  }
  return { deleted, failed };
}
