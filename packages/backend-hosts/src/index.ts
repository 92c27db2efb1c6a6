// @sdx/backend-hosts: plain Linux hosts over SSH (ssh2), Docker on each host.
import type { Backend } from "@sdx/sdk";
import { HostsBackend } from "./hosts-backend.js";

export { HostsBackend, type HostsBackendOptions } from "./hosts-backend.js";
export { hostsTargetSpec, hostsCostModel, HOSTS_CAPABILITIES, type HostsTarget, type HostSpec } from "./hosts-target.js";
export { renderHosts, comparableBody, containerRevision, HOSTS_KINDS, type ContainerBody } from "./render/render-hosts.js";
export { placeReplicas, eligibleHosts, replicasOf, type Placement, type PlaceReplicasResult } from "./render/place-replicas.js";
export { healthCommand } from "./render/health-command.js";
export { checkHosts } from "./check-hosts.js";
export { applyHosts, pullImage, type ApplyHostsSeams, type DeliverImage } from "./apply/apply-hosts.js";
export { HostPool, type CreateDockerHost } from "./client/host-pool.js";
export { shellQuote, type HostConnection, type ConnectHost, type ConnectHostOptions, type ExecOptions, type ExecResult } from "./client/host-connection.js";
export type { DockerHost, ContainerSpec, ObservedContainer, HostFile, HostInfo, AuditEntry } from "./client/docker-host.js";
export * from "./render/host-names.js";
// connectHost (and ssh2 behind it) is at "@sdx/backend-hosts/client", so that
// loading the backend for pricing or an offline plan does not load it.

/** The entry point the sdk's container loads. */
export function createBackend(): Backend {
  return new HostsBackend();
}
