// @sdx/backend-swarm/target: the `swarm` target kind alone (zod and
// @sdx/sdk/target only), for validation and `sdx schema` without the backend.
import { z } from "zod";
import { defineTargetKind, type Target, type BackendCapabilities, type CostModel, type SizeLimits } from "@sdx/sdk/target";
import { swarmBillables } from "./swarm-billables.js";

/** A Docker Engine in swarm mode. */
export interface SwarmTarget extends Target {
  readonly kind: "swarm";
  /** `unix:///path`, `tcp://host:port` or `npipe://…`. @default $DOCKER_HOST, then the local socket */
  readonly host?: string;
  /** TLS material directory for tcp+TLS (ca.pem, cert.pem, key.pem), resolved against the app file's directory. @default $DOCKER_CERT_PATH when $DOCKER_TLS_VERIFY is set */
  readonly tlsDir?: string;
  /** Node label used for spot placement. @default "sdx.capacity" */
  readonly spotLabel: string;
  /** How ports are published. @default "ingress" */
  readonly publishMode: "ingress" | "host";
}

const settings = z.strictObject({
  host: z.string().optional().describe("Engine address: unix:///path, tcp://host:port or npipe://…. Default: $DOCKER_HOST, then the local socket."),
  tlsDir: z.string().optional().describe("Directory holding ca.pem, cert.pem and key.pem for tcp+TLS, relative to the app file. Default: $DOCKER_CERT_PATH when $DOCKER_TLS_VERIFY is set."),
  spotLabel: z.string().default("sdx.capacity").describe("Node label whose values (spot / on-demand) mark capacity, for spot placement."),
  publishMode: z.enum(["ingress", "host"]).default("ingress").describe("How public ports are published: through the routing mesh, or on the node running the task."),
}).describe("A Docker Engine in swarm mode.");

/** Docker caps a config and a secret at 500 KiB each (500 * 1024 bytes); render makes one per file and per secret. */
export const SWARM_SIZE_LIMITS = {
  file: { bytes: 500 * 1024, holder: "a Swarm config" },
  secret: { bytes: 500 * 1024, holder: "a Swarm secret" },
} as const satisfies SizeLimits;

/** What the Docker Swarm backend can do (see `BackendCapabilities`). */
export const SWARM_CAPABILITIES: BackendCapabilities = {
  spot: true,
  autoscale: false,
  nativeProbes: ["exec"],
  volumes: ["ephemeral", "persistent"],
  rollback: true,
  liveDiff: true,
  sizeLimits: SWARM_SIZE_LIMITS,
};

/** The name tables show for this backend. */
export const SWARM_DISPLAY_NAME = "Docker Swarm";

/** Node-packed, each node keeping a fixed 100m CPU / 256 MiB for the OS and dockerd. */
function swarmCostModel(): CostModel {
  return { kind: "nodes", reserve: { kind: "fixed", cpuMillis: 100, memoryMiB: 256 } };
}

/** The `swarm` target kind: its settings, defaults, and the TLS directory path. */
export const swarmTargetSpec = defineTargetKind<SwarmTarget, typeof settings>({
  kind: "swarm",
  settings,
  displayName: SWARM_DISPLAY_NAME,
  capabilities: SWARM_CAPABILITIES,
  costModel: swarmCostModel,
  billables: swarmBillables,
  // An empty spot label names no node label: it has always meant the default one.
  normalize: (s, common) => ({ ok: true, target: { ...common, kind: "swarm", ...s, spotLabel: s.spotLabel || "sdx.capacity" } }),
  pathSettings: ["tlsDir"],
  testenv: "swarm",
});

/** The name sdx's loader looks for in a backend's `/target` module. */
export { swarmTargetSpec as targetKindSpec };
