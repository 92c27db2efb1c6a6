// @sdx/backend-hosts/target: the `hosts` target kind alone (zod and
// @sdx/sdk/target only), for validation and `sdx schema` without the backend.
import { z } from "zod";
import { defineTargetKind, type BackendCapabilities, type CostModel, type Diagnostic, type Target } from "@sdx/sdk/target";
import { checkHosts } from "./check-hosts.js";
import { hostsBillables } from "./hosts-billables.js";

/** One plain Linux host that runs Docker and accepts SSH. */
export interface HostSpec {
  /** Name in tables, container placement and messages. @default the address */
  readonly name: string;
  /** IP address or DNS name the SSH client connects to. */
  readonly address: string;
  /** @default "root" */
  readonly user: string;
  /** @default 22 */
  readonly port: number;
  /** Free-form labels matched by services' `placement.constraints` (zone, role, …). @default {} */
  readonly labels: Readonly<Record<string, string>>;
  /** Instance type, priced from the catalog like a node (with the target's `pricing` provider and region). */
  readonly instanceType?: string;
  /** A flat monthly price in USD, for a rented box the catalog does not know. */
  readonly monthlyUsd?: number;
  /** CPUs the host offers, in millicores, for packing when the catalog does not know its size. */
  readonly cpuMillis?: number;
  /** Memory the host offers in MiB, for packing when the catalog does not know its size. */
  readonly memoryMiB?: number;
  /** Spot (preemptible) capacity: only services with `placement.spot` prefer/only run here. @default "on-demand" */
  readonly capacity: "on-demand" | "spot";
}

/** Plain Linux hosts over SSH, each running Docker. */
export interface HostsTarget extends Target {
  readonly kind: "hosts";
  readonly hosts: readonly HostSpec[];
  /** Private key file for SSH, resolved against the app file's directory. @default the agent at $SSH_AUTH_SOCK only */
  readonly identityFile?: string;
  /** Use the ssh-agent at $SSH_AUTH_SOCK (when set). @default true */
  readonly agent: boolean;
  /** OpenSSH known_hosts file the hosts' keys are checked against. @default ~/.ssh/known_hosts */
  readonly knownHosts?: string;
  /** Host key fingerprints by address or name (`SHA256:…`, as `ssh-keygen -lf` prints them); checked before known_hosts. @default {} */
  readonly fingerprints: Readonly<Record<string, string>>;
  /** How images reach the hosts: pulled by digest from their registry, or streamed over SSH from this machine. @default "pull" */
  readonly images: "pull" | "stream";
  /** Directory on each host under which sdx keeps each app's files, lock and audit log (`<dir>/<app>/…`). @default "/var/lib/sdx" */
  readonly dataDir: string;
  /** Seconds to wait for an SSH connection. @default 10 */
  readonly connectTimeoutSeconds: number;
}

const hostSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, "a lowercase name of letters, digits, '.' and '-'").optional()
    .describe("Name of the host in tables and container placement. Default: the address."),
  address: z.string().min(1).describe("IP address or DNS name to connect to over SSH."),
  user: z.string().min(1).default("root").describe("SSH user; it must be able to run docker."),
  port: z.number().int().min(1).max(65535).default(22).describe("SSH port."),
  labels: z.record(z.string(), z.string()).default({}).describe("Labels matched by services' placement.constraints (zone, role, ...)."),
  instanceType: z.string().optional().describe("Instance type, priced from the catalog with the target's pricing provider and region."),
  monthlyUsd: z.number().nonnegative().optional().describe("Flat monthly price in USD (a rented box the catalog does not know)."),
  cpus: z.number().positive().optional().describe("CPUs the host offers, for packing when no instanceType says it."),
  memory: z.string().regex(/^\d+(\.\d+)?(Mi|Gi|M|G)$/, "a size like 512Mi or 4Gi").optional().describe("Memory the host offers (e.g. 4Gi), for packing when no instanceType says it."),
  capacity: z.enum(["on-demand", "spot"]).default("on-demand").describe("Spot (preemptible) hosts run only services whose placement.spot allows it."),
});

const settings = z.strictObject({
  hosts: z.array(hostSchema).min(1).max(100).describe("The hosts, each running Docker and reachable over SSH."),
  identityFile: z.string().optional().describe("Private key file for SSH, relative to the app file. Default: only the agent at $SSH_AUTH_SOCK."),
  agent: z.boolean().default(true).describe("Offer the keys of the ssh-agent at $SSH_AUTH_SOCK."),
  knownHosts: z.string().optional().describe("OpenSSH known_hosts file to verify host keys with. Default: ~/.ssh/known_hosts."),
  fingerprints: z.record(z.string(), z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, "an OpenSSH SHA256 fingerprint, e.g. SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")).default({})
    .describe("Host key fingerprints by host address or name (SHA256:..., as ssh-keygen -lf prints them), checked before known_hosts."),
  images: z.enum(["pull", "stream"]).default("pull").describe("pull: each host pulls images by digest from the registry; stream: sdx sends them over SSH (no registry needed)."),
  dataDir: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "an absolute path").default("/var/lib/sdx").describe("Directory on each host for sdx's per-app files, lock and audit log."),
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(10).describe("Seconds to wait for an SSH connection."),
}).describe("Plain Linux hosts running Docker, reached over SSH.");

/** What the hosts backend can do (see `BackendCapabilities`). */
export const HOSTS_CAPABILITIES: BackendCapabilities = {
  spot: true,
  autoscale: false,
  nativeProbes: ["exec"],
  volumes: ["ephemeral", "persistent"],
  rollback: true,
  liveDiff: true,
};

/** The name tables show for this backend. */
export const HOSTS_DISPLAY_NAME = "Linux hosts (SSH)";

/** Each host keeps 100m CPU and 256 MiB for the OS, sshd and dockerd, as a Swarm node does. */
export const HOSTS_RESERVE = { kind: "fixed", cpuMillis: 100, memoryMiB: 256 } as const;

function mebibytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(size)!;
  const n = Number(m[1]);
  const unit = m[2]!;
  const bytes = unit === "Gi" ? n * 2 ** 30 : unit === "Mi" ? n * 2 ** 20 : unit === "G" ? n * 1e9 : n * 1e6;
  return Math.floor(bytes / 2 ** 20);
}

/** The declared hosts, each priced by its instance type or flat price, with replicas packed onto them. */
export function hostsCostModel(t: HostsTarget): CostModel {
  return {
    kind: "hosts",
    reserve: HOSTS_RESERVE,
    hosts: t.hosts.map((h) => ({
      name: h.name,
      labels: h.labels,
      spot: h.capacity === "spot",
      ...(h.instanceType ? { instanceType: h.instanceType } : {}),
      ...(h.monthlyUsd === undefined ? {} : { monthlyUsd: h.monthlyUsd }),
      ...(h.cpuMillis === undefined ? {} : { cpuMillis: h.cpuMillis }),
      ...(h.memoryMiB === undefined ? {} : { memoryMiB: h.memoryMiB }),
    })),
  };
}

/** The `hosts` target kind: its settings, defaults, and the key and known_hosts paths. */
export const hostsTargetSpec = defineTargetKind<HostsTarget, typeof settings>({
  kind: "hosts",
  settings,
  displayName: HOSTS_DISPLAY_NAME,
  capabilities: HOSTS_CAPABILITIES,
  costModel: hostsCostModel,
  // Pure and light (placement maths only): the cost table's fidelity verdict needs no loaded backend.
  check: checkHosts,
  billables: hostsBillables,
  normalize: (s, common, path) => {
    const diagnostics: Diagnostic[] = [];
    const hosts = s.hosts.map((h, i): HostSpec => {
      const { cpus, memory, name, ...rest } = h;
      if (h.instanceType && h.monthlyUsd !== undefined) {
        diagnostics.push({ code: "SDX_VALIDATION", severity: "error", path: `${path}.hosts[${i}]`, message: "a host has either an instanceType or a monthlyUsd price, not both", hint: "Keep instanceType for a catalog price, or monthlyUsd for a flat one." });
      }
      return {
        ...rest,
        name: name ?? h.address,
        ...(cpus === undefined ? {} : { cpuMillis: Math.round(cpus * 1000) }),
        ...(memory === undefined ? {} : { memoryMiB: mebibytes(memory) }),
      };
    });
    const seen = new Map<string, number>();
    hosts.forEach((h, i) => {
      for (const key of new Set([h.name, `${h.address}:${h.port}`])) {
        const first = seen.get(key);
        if (first !== undefined) {
          diagnostics.push({ code: "SDX_VALIDATION", severity: "error", path: `${path}.hosts[${i}]`, message: `host "${key}" is listed twice (first at hosts[${first}])`, hint: "Give each host once; use name to tell apart two SSH ports of one address." });
        } else seen.set(key, i);
      }
    });
    if (diagnostics.length) return { ok: false, diagnostics };
    return { ok: true, target: { ...common, kind: "hosts", ...s, hosts } };
  },
  toSettings: (t) => {
    const { name: _n, kind: _k, pricing: _p, overrides: _o, registry: _r, hosts, ...rest } = t;
    return {
      ...rest,
      hosts: hosts.map(({ cpuMillis, memoryMiB, ...h }) => ({
        ...h,
        ...(cpuMillis === undefined ? {} : { cpus: cpuMillis / 1000 }),
        ...(memoryMiB === undefined ? {} : { memory: `${memoryMiB}Mi` }),
      })),
    };
  },
  pathSettings: ["identityFile", "knownHosts"],
  testenv: "hosts",
});

/** The name sdx's loader looks for in a backend's `/target` module. */
export { hostsTargetSpec as targetKindSpec };
