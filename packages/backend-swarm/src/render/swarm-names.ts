import { boundedName } from "@sdx/sdk";

/** Label `docker stack ls/ps` group objects by; sdx sets it so a deployed app shows up as a stack. */
export const LABEL_STACK_NAMESPACE = "com.docker.stack.namespace";

/** Swarm object names are DNS labels for services (63) and at most 64 characters for secrets and configs. */
const SERVICE_NAME_MAX = 63;
const OBJECT_NAME_MAX = 64;

/** `<app>_<service>`, as `docker stack deploy` names services. */
export function serviceName(app: string, service: string): string {
  return boundedName(`${app}_${service}`, SERVICE_NAME_MAX);
}

/** `<app>_default`: the app's overlay network, as `docker stack deploy` names it. */
export function networkName(app: string): string {
  return boundedName(`${app}_default`, SERVICE_NAME_MAX);
}

/** `<app>_<service>_<name>-<digest8>`: content-addressed, because Swarm cannot change a secret or config in place. */
export function contentName(app: string, service: string, name: string, digest: string): string {
  const d = digest.slice(0, 8);
  return `${boundedName(`${app}_${service}_${name}`, OBJECT_NAME_MAX - d.length - 1)}-${d}`;
}

/**
 * `<app>_<service>_<volume>`: named volumes are per node, so the service name keeps two services' data apart.
 * A volume's `dockerName` (an existing volume, e.g. `<stack>_<volume>` from `docker stack deploy`) replaces it.
 */
export function volumeName(app: string, service: string, volume: string): string {
  return boundedName(`${app}_${service}_${volume}`, OBJECT_NAME_MAX);
}

/** A config name from a file path: `/www/index.html` → `www-index.html`. */
export function fileSlug(path: string): string {
  return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[-.]+|-+$/g, "") || "file";
}
