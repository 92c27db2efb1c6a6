// @sdx/backend-swarm/target: the `swarm` target kind alone (zod and
// @sdx/sdk/target only), for validation and `sdx schema` without the backend.
import { z } from "zod";
import { defineTargetKind, type Target } from "@sdx/sdk/target";

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

/** The `swarm` target kind: its settings, defaults, and the TLS directory path. */
export const swarmTargetSpec = defineTargetKind<SwarmTarget, typeof settings>({
  kind: "swarm",
  settings,
  // An empty spot label names no node label: it has always meant the default one.
  normalize: (s, common) => ({ ok: true, target: { ...common, kind: "swarm", ...s, spotLabel: s.spotLabel || "sdx.capacity" } }),
  pathSettings: ["tlsDir"],
  testenv: "swarm",
});

/** The name sdx's loader looks for in a backend's `/target` module. */
export { swarmTargetSpec as targetKindSpec };
