import { posix } from "node:path";

/** Label: the replica slot (0-based) a container fills; with the service it is the container's identity. */
export const LABEL_SLOT = "sdx.dev/slot";
/** Label: the host (by its name in the target) the container was placed on. */
export const LABEL_HOST = "sdx.dev/host";
/** Label: replicas the service had when the container was deployed (status compares against it). */
export const LABEL_REPLICAS = "sdx.dev/replicas";
/** Label: requested CPU millicores per replica (for cost deltas without a state file). */
export const LABEL_CPU = "sdx.dev/cpu-millis";
/** Label: requested memory MiB per replica. */
export const LABEL_MEMORY = "sdx.dev/memory-mib";
/** Label: the app revision whose deploy created the container. */
export const LABEL_APP_REVISION = "sdx.dev/app-revision";

/** Identity of a replica slot in plans: `<app>-<service>-<slot>`. */
export function slotName(app: string, service: string, slot: number): string {
  return `${app}-${service}-${slot}`;
}

/**
 * Docker container name of one revision of a slot: the revision is part of it
 * so that the new container can start next to the old one (start-first).
 */
export function containerName(app: string, service: string, slot: number, revision: string): string {
  return `${slotName(app, service, slot)}-${revision}`;
}

/** The app's bridge network on each host: services reach each other there by name. */
export function networkName(app: string): string {
  return `sdx-${app}`;
}

/** `<dataDir>/<app>`: everything sdx keeps for the app on a host. */
export function appDir(dataDir: string, app: string): string {
  return posix.join(dataDir, app);
}

/** Content-addressed directory of one service's files and secrets: a new content never overwrites what a running container mounts. */
export function contentDir(dataDir: string, app: string, service: string): string {
  return posix.join(appDir(dataDir, app), "services", service);
}

/** Where a persistent volume's data lives on a host; kept by `destroy`. */
export function volumeDir(dataDir: string, app: string, service: string, volume: string): string {
  return posix.join(appDir(dataDir, app), "volumes", service, volume);
}
