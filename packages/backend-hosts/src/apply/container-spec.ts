import { posix } from "node:path";
import { canonicalJson, ownershipLabels, SdxError, secretKey, sha256, type BackendContext } from "@sdx/sdk";
import type { ContainerSpec, HostFile } from "../client/docker-host.js";
import type { HostsTarget } from "../hosts-target.js";
import { containerName, contentDir, LABEL_APP_REVISION, LABEL_CPU, LABEL_HOST, LABEL_MEMORY, LABEL_REPLICAS, LABEL_SLOT, networkName, volumeDir } from "../render/host-names.js";
import { comparableBody, containerRevision, type ContainerBody, type SlotFacts } from "../render/render-hosts.js";
import { LABEL_SPEC } from "../plan/observe-hosts.js";

/** What one slot needs on its host: the container, the files it mounts and the directories of its persistent volumes. */
export interface SlotRun {
  readonly spec: ContainerSpec;
  readonly revision: string;
  readonly files: readonly HostFile[];
  readonly dirs: readonly string[];
}

/**
 * The `docker run` spec of a rendered slot, and the files to write first.
 * Files are content-addressed under the service's directory (0700), so a new
 * revision never overwrites what a running container mounts: secrets 0400,
 * config files 0444, secret variables in a 0400 env file. Secret values are
 * revealed here only, into the files' content (which travels on stdin).
 */
export function slotRun(ctx: BackendContext<HostsTarget>, service: string, rendered: Readonly<Record<string, unknown>>, image: string): SlotRun {
  const app = ctx.app.name;
  const body: ContainerBody = comparableBody(rendered);
  const { slot, facts, ownership } = rendered as unknown as { slot: number; facts: SlotFacts; ownership?: Readonly<Record<string, string>> };
  const revision = containerRevision(body);
  const dir = contentDir(ctx.target.dataDir, app, service);
  const files: HostFile[] = [];
  const mounts: { source?: string; target: string; readOnly: boolean }[] = [];
  const secretValue = (name: string): string => {
    const v = ctx.secrets.get(secretKey(service, name))?.value;
    if (!v) {
      throw new SdxError("SDX_SECRET_UNRESOLVED", `secret ${name} of ${service} has no value to deliver`, { fault: "user", path: `services.${service}.secrets`, hint: "Set its source (environment variable or file) before deploying." });
    }
    return v.reveal();
  };
  for (const [path, name] of Object.entries(body.secretFiles)) {
    const file = posix.join(dir, `secret-${name}-${body.secretDigests[name]}`);
    files.push({ path: file, content: secretValue(name), mode: 0o400 });
    mounts.push({ source: file, target: path, readOnly: true });
  }
  const svc = ctx.app.services.find((s) => s.name === service);
  for (const [path, f] of Object.entries(body.files)) {
    const content = svc?.files.find((x) => x.path === path)?.content ?? "";
    const file = posix.join(dir, `file-${f.digest}-${posix.basename(path)}`);
    files.push({ path: file, content, mode: 0o444 });
    mounts.push({ source: file, target: path, readOnly: true });
  }
  const envFiles: string[] = [];
  const envVars = Object.entries(body.envSecrets).sort(([a], [b]) => a.localeCompare(b));
  if (envVars.length) {
    const lines = envVars.map(([variable, name]) => {
      const value = secretValue(name);
      if (/[\r\n]/.test(value)) {
        throw new SdxError("SDX_BACKEND_UNSUPPORTED", `secret ${name} of ${service} spans several lines and cannot be a variable on hosts (Docker env files hold one line per variable)`, {
          fault: "user", path: `services.${service}.secrets`, hint: `Deliver it as a file (asFile) instead of asEnv: ${variable}.`,
        });
      }
      return `${variable}=${value}`;
    });
    const file = posix.join(dir, `env-${sha256(canonicalJson(envVars.map(([v, n]) => [v, body.secretDigests[n]])), 16)}`);
    files.push({ path: file, content: `${lines.join("\n")}\n`, mode: 0o400 });
    envFiles.push(file);
  }
  const dirs: string[] = [];
  for (const v of body.volumes) {
    if (v.kind === "persistent") {
      const source = volumeDir(ctx.target.dataDir, app, service, v.name);
      dirs.push(source);
      mounts.push({ source, target: v.path, readOnly: v.readOnly });
    } else mounts.push({ target: v.path, readOnly: v.readOnly });
  }
  const spec: ContainerSpec = {
    name: containerName(app, service, slot, revision),
    image,
    labels: {
      ...body.labels,
      // The rendered ownership (what goldens show), recomputed on top so that no override can disown a container.
      ...ownership,
      ...ownershipLabels(app, service, revision),
      [LABEL_SLOT]: String(slot),
      [LABEL_HOST]: body.host,
      [LABEL_REPLICAS]: String(facts.replicas),
      [LABEL_CPU]: String(facts.cpuMillis),
      [LABEL_MEMORY]: String(facts.memoryMiB),
      [LABEL_APP_REVISION]: ctx.revision.app,
      // The deployed body: plans diff against it, so no state file is needed. No secret value is in it (digests only).
      [LABEL_SPEC]: Buffer.from(canonicalJson(body)).toString("base64"),
    },
    env: body.env,
    envFiles,
    ...(body.entrypoint ? { entrypoint: body.entrypoint } : {}),
    ...(body.command ? { command: body.command } : {}),
    ports: body.ports.map((p) => {
      const m = /^(\d+):(\d+)\/(tcp|udp)$/.exec(p)!;
      return { host: Number(m[1]), container: Number(m[2]), protocol: m[3] as "tcp" | "udp" };
    }),
    mounts,
    network: networkName(app),
    aliases: [service],
    ...(body.health ? { health: body.health } : {}),
    ...(body.cpuLimitMillis ? { cpuLimitMillis: body.cpuLimitMillis } : {}),
    ...(body.memoryLimitMiB ? { memoryLimitMiB: body.memoryLimitMiB } : {}),
    restart: "unless-stopped",
  };
  return { spec, revision, files, dirs };
}
