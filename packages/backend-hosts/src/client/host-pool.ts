import { SdxError } from "@sdx/sdk";
import type { HostSpec, HostsTarget } from "../hosts-target.js";
import type { DockerHost } from "./docker-host.js";
import type { ConnectHost, ConnectHostOptions } from "./host-connection.js";

/** Builds a DockerHost on a connection (the docker CLI over SSH, or a fake in tests). */
export type CreateDockerHost = (connection: Awaited<ReturnType<ConnectHost>>) => DockerHost;

/**
 * One SSH connection per host of a target, opened together and closed
 * together. Opening fails as a whole (and closes what it opened) when any host
 * cannot be reached: a deploy never starts on some hosts only.
 */
export class HostPool {
  private constructor(readonly target: HostsTarget, readonly hosts: ReadonlyMap<string, DockerHost>) {}

  static async open(target: HostsTarget, connect: ConnectHost, createDockerHost: CreateDockerHost, options: ConnectHostOptions): Promise<HostPool> {
    const settled = await Promise.allSettled(target.hosts.map(async (h) => [h.name, createDockerHost(await connect(h, options))] as const));
    const opened = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = settled.flatMap((s, i) => (s.status === "rejected" ? [{ host: target.hosts[i]!, error: s.reason as unknown }] : []));
    if (failed.length) {
      for (const [, d] of opened) d.connection.close();
      throw poolError(failed);
    }
    return new HostPool(target, new Map(opened));
  }

  get(name: string): DockerHost {
    const d = this.hosts.get(name);
    if (!d) throw new SdxError("SDX_INTERNAL", `no connection to host ${name}`, { fault: "internal" });
    return d;
  }

  close(): void {
    for (const d of this.hosts.values()) d.connection.close();
  }
}

/** The first host's error, with the others' names: the codes of one failure say what to do. */
function poolError(failed: readonly { host: HostSpec; error: unknown }[]): unknown {
  const first = failed[0]!;
  if (failed.length === 1 || !(first.error instanceof SdxError)) return first.error;
  const others = failed.slice(1).map((f) => f.host.name).join(", ");
  return new SdxError(first.error.code, `${first.error.message} (also failing: ${others})`, {
    fault: first.error.fault, cause: first.error,
    ...(first.error.hint ? { hint: first.error.hint } : {}),
    details: { ...(first.error.details ?? {}), hosts: failed.map((f) => f.host.name) },
  });
}
