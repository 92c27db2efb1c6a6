/**
 * The authoring format of `sdx.yaml` / `sdx.json` / `defineApp()`, as zod schemas.
 * Structure only: units, cross-field rules and normalisation live in
 * `validation/normalize-app.ts`, so that one pass can report every problem.
 * The same schemas produce the JSON Schema printed by `sdx schema`.
 */
import { z } from "zod";
import type { TargetKindSpec } from "../backend/backend.js";
import { LIMITS, type LimitName } from "./limits.js";
import { USAGE_DEFAULTS } from "./usage-defaults.js";
import { DEFAULT_RESOURCES } from "./app.js";

/** What a limit counts: a number's value, a list's items, a mapping's keys or a string's length. */
type Measure = "value" | "items" | "keys" | "length";
const JSON_SCHEMA_KEYWORD = { value: "maximum", items: "maxItems", keys: "maxProperties", length: "maxLength" } as const;

/** Issue params that mark a zod issue as a documented limit (`SDX_LIMIT_EXCEEDED`, see zod-diagnostics.ts). */
export interface LimitIssueParams {
  readonly limit: LimitName;
  readonly max: number;
  readonly actual: number;
  readonly measure: Measure;
  /** What is counted, e.g. "replicas per service". */
  readonly unit: string;
  readonly hint: string;
}

function measured(v: unknown, measure: Measure): number | undefined {
  switch (measure) {
    case "value":
      return typeof v === "number" ? v : undefined;
    case "items":
      return Array.isArray(v) ? v.length : undefined;
    case "keys":
      return v !== null && typeof v === "object" && !Array.isArray(v) ? Object.keys(v).length : undefined;
    case "length":
      return typeof v === "string" ? [...v].length : undefined;
    default:
      return assertNever(measure);
  }
}

/**
 * `schema` capped at `LIMITS[limit]`: a value past it is an issue carrying
 * {@link LimitIssueParams} (reported as `SDX_LIMIT_EXCEEDED`), and the bound
 * shows in the JSON Schema. Exported for backends' target schemas.
 */
export function capped<T extends z.ZodType>(schema: T, limit: LimitName, measure: Measure, unit: string, hint: string): T {
  const max = LIMITS[limit];
  return schema
    .check((ctx) => {
      const actual = measured(ctx.value, measure);
      if (actual === undefined || actual <= max) return;
      const params: LimitIssueParams = { limit, max, actual, measure, unit, hint };
      ctx.issues.push({ code: "custom", input: ctx.value, message: `${actual} ${unit}; the limit is ${max}`, params: { ...params } });
    })
    .meta({ [JSON_SCHEMA_KEYWORD[measure]]: max }) as T;
}

function assertNever(x: never): never {
  throw new Error(`unhandled ${JSON.stringify(x)}`);
}

const REPLICAS_HINT = `Use at most ${LIMITS.replicas} replicas per service (ECS's cap on tasks per service); split a larger workload into several services.`;
const replicaCount = (min: number) => capped(z.number().int().min(min), "replicas", "value", "replicas per service", REPLICAS_HINT);

/** A DNS-1123 label (names of apps, services, targets; a Kubernetes namespace). */
export const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
  message: "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
});
const name = dnsLabel;
const stringMap = z.record(z.string(), z.string());
const labelMap = capped(stringMap, "labels", "keys", "labels", `Keep at most ${LIMITS.labels} labels; every label is copied onto every object sdx creates.`);
const quantity = z.union([z.string(), z.number()]);
/** A duration as written: parse it with `parseDuration` (units.ts) in `normalize`. */
export const duration = z.union([z.string(), z.number()]).describe('Duration such as "10s", "1m30s", or seconds as a number.');
const port = z.number().int().min(1).max(65535);

const secretInput = z
  .strictObject({
    fromEnv: z.string().optional().describe("Read the value from this environment variable at deploy time."),
    fromFile: z.string().optional().describe("Read the value from this file at deploy time (relative to the app file)."),
    awsSecretsManager: z.string().optional().describe("ARN of an AWS Secrets Manager secret."),
    awsSsmParameter: z.string().optional().describe("ARN of an AWS SSM parameter."),
    kubernetesSecret: z.strictObject({ name: z.string(), key: z.string() }).optional().describe("An existing Kubernetes Secret."),
    asEnv: z.string().optional().describe("Expose as this environment variable."),
    asFile: z.string().optional().describe("Mount as a file at this absolute path."),
    value: z.unknown().optional().describe("Not allowed: secret values never go in the app file. Use a reference."),
  })
  .describe("A secret reference. Exactly one source; at least one of asEnv / asFile.");

const fileInput = z.strictObject({
  path: z.string().describe("Absolute path inside the container."),
  content: z.string().optional(),
  fromFile: z.string().optional().describe("Load the content from this file (relative to the app file)."),
  mode: z.union([z.number().int(), z.string()]).optional().describe("POSIX mode, e.g. 0644 or \"0644\"."),
});

const portInput = z.union([
  port,
  z.strictObject({
    port,
    name: name.optional(),
    protocol: z.enum(["tcp", "udp"]).optional(),
    appProtocol: z.enum(["http", "tcp", "grpc"]).optional(),
    public: z.boolean().optional(),
  }),
]);

const healthInput = z.strictObject({
  http: z.strictObject({ path: z.string(), port: port.optional() }).optional(),
  tcp: z.strictObject({ port: port.optional() }).optional(),
  exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(1).optional(),
  startPeriod: duration.optional(),
});

const resourcesInput = z.strictObject({
  cpu: quantity.optional().describe(`Cores (0.5) or millicores ("500m") each replica requests. Default: ${DEFAULT_RESOURCES.cpuMillis}m for pricing only; nothing is reserved at runtime unless given (a platform that must size the task, like Fargate, says so in the fidelity report).`),
  memory: quantity.optional().describe(`With a unit: "512Mi", "1Gi". Default: ${DEFAULT_RESOURCES.memoryMiB}Mi for pricing only; nothing is reserved at runtime unless given (a platform that must size the task, like Fargate, says so in the fidelity report).`),
  limits: z.strictObject({
    cpu: quantity.optional().describe("CPU cap per replica. Default: none (no throttling)."),
    memory: quantity.optional().describe("Memory cap per replica; above it the process is killed. Default: none (sdx never invents a memory limit)."),
  }).optional().describe("Hard caps, set only where given."),
}).describe("Compute per replica. Values left out are priced at their defaults and not enforced.");

const globList = z.array(z.string().min(1).max(1024)).max(LIMITS.buildPatterns);

const buildInput = z.strictObject({
  context: z.string().min(1).optional().describe('Source directory, relative to the app file; must stay inside its directory. Default ".".'),
  entry: z.string().min(1).describe("The program to run, relative to the context, e.g. server.js."),
  base: z.string().min(1).optional().describe(`Base image. Default: the app's build.base, else ${"docker.io/library/node:24-bookworm-slim"}.`),
  include: globList.optional().describe("Glob patterns of files to ship (default: all)."),
  exclude: globList.optional().describe("Glob patterns to leave out, besides .git/, node_modules/, .env* and *.log."),
  dependencies: z.enum(["npm-ci", "copy", "none"]).optional().describe("npm-ci (default): clean production install from the lockfile; copy: node_modules as built; none."),
  node: z.string().regex(/^\d+\.\d+\.\d+$/).optional().describe("Node version added when the base has none. Default: 24.21.0 (fixed, so the digest does not depend on the machine)."),
  user: z.string().min(1).max(64).optional().describe('User in the image. Default "65532:65532".'),
  repository: z.string().min(1).optional().describe("Where to push (no tag or digest). Default: <registry>/<app>-<service>."),
});

const dataSize = z.union([z.string(), z.number()]);

const usageInput = z.strictObject({
  logs: dataSize.optional().describe(`Logs all replicas write per month, e.g. "2Gi"; priced where sdx ships them (CloudWatch Logs on ECS). Default: ${USAGE_DEFAULTS.logsGiBPerReplicaMonth} GiB per replica per month.`),
  egress: dataSize.optional().describe("Data all replicas send to the internet per month, e.g. \"10Gi\". Default: none, so egress is left unpriced and the estimate says so."),
  lbCapacityUnits: z.number().min(0).optional().describe(`Average capacity units of the service's load balancer (AWS LCU/NLCU; one is 25 new connections/s or 1 GB/h on an ALB). Default: ${USAGE_DEFAULTS.lbCapacityUnits}.`),
  volumeSize: dataSize.optional().describe(`Data held in each persistent volume where the bill follows what is stored (EFS, local volumes on nodes), e.g. "20Gi". Default: the volume's size, else ${USAGE_DEFAULTS.volumeSizeGiB} GiB. Kubernetes volumes are billed at their claimed size.`),
}).describe("Pricing hints, never deployed: editing them changes no revision. Quantities cover all replicas together.");

const serviceInput = z.strictObject({
  image: z.string().min(1).optional().describe("Image reference; pin it with @sha256:… for reproducible deploys. Required unless `build` is given."),
  build: buildInput.optional().describe("Build the image from source (Node), without Docker."),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  args: z.union([z.array(z.string()), z.string()]).optional(),
  env: capped(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), "env", "keys", "environment variables", `Keep at most ${LIMITS.env} variables per service; mount larger configuration as a file.`).optional(),
  secrets: capped(z.record(name, secretInput), "secretsPerService", "keys", "secrets in one service", `Keep at most ${LIMITS.secretsPerService} secrets per service; mount related values as one secret file.`).optional(),
  files: capped(z.array(fileInput), "filesPerService", "items", "files in one service", `Keep at most ${LIMITS.filesPerService} files per service; bundle them into fewer files or the image.`).optional(),
  ports: capped(z.array(portInput), "ports", "items", "ports in one service", `Declare at most ${LIMITS.ports} ports per service.`).optional(),
  health: healthInput.optional(),
  resources: resourcesInput.optional(),
  replicas: replicaCount(0).describe(`Fixed number of replicas, at most ${LIMITS.replicas}.`).optional(),
  autoscale: z
    .strictObject({
      min: replicaCount(0),
      max: replicaCount(1),
      targetCpu: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  volumes: capped(z
    .array(
      z.strictObject({
        name,
        path: z.string(),
        kind: z.enum(["ephemeral", "persistent"]).optional(),
        size: quantity.optional(),
        readOnly: z.boolean().optional(),
        dockerName: z.string().optional().describe("Swarm only: the Docker volume a persistent volume mounts, e.g. `shop_db-data` as `docker stack deploy` named it, so a migrated app finds its data. Default: `<app>_<service>_<name>`."),
      }),
    ), "volumes", "items", "volumes in one service", `Mount at most ${LIMITS.volumes} volumes per service.`)
    .optional(),
  placement: z
    .strictObject({
      spot: z.enum(["never", "prefer", "only"]).optional()
        .describe('never: on-demand capacity only; prefer: spot where possible; only: spot only. Default: priced as "never", with no capacity constraint at runtime.'),
      minOnDemand: replicaCount(0).optional().describe("Replicas kept on on-demand capacity when spot is preferred. Default: 0."),
      arch: z.enum(["amd64", "arm64"]).optional()
        .describe('CPU architecture of the nodes. Default: priced as "amd64", with no architecture constraint at runtime (Fargate, which must pick one, runs X86_64 and says so in the fidelity report).'),
      constraints: stringMap.optional().describe("Node labels the replicas must run on, as label: value. Default: none."),
    })
    .optional(),
  rollout: z
    .strictObject({
      strategy: z.enum(["rolling", "recreate"]).optional()
        .describe("rolling: replace replicas a few at a time; recreate: stop every old replica before starting new ones. Default: rolling, except recreate (stop-first) for one replica with a persistent volume, so two processes never share the volume; write rolling with a maxSurge above 0 to start the new one first anyway."),
      maxSurge: z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]).optional()
        .describe('Extra replicas started during a rolling update: a count or a percentage ("25%", rounded up). Default: "25%".'),
      maxUnavailable: z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]).optional()
        .describe("Replicas that may be down during a rolling update: a count or a percentage (rounded down). Default: 0."),
      autoRollback: z.boolean().optional().describe("Roll back to the previous revision when the new one fails. Default: true."),
      timeout: duration.optional().describe('How long a rollout may take before it counts as failed, e.g. "5m". Default: 10m.'),
    })
    .optional()
    .describe("How a new revision replaces the old one."),
  labels: labelMap.optional(),
  usage: usageInput.optional(),
});

const pricingInput = z.strictObject({
  provider: z.enum(["aws", "gcp", "azure"]),
  region: z.string(),
  nodeTypes: z.array(z.string()).optional(),
  spot: z.boolean().optional(),
  dedicatedCluster: z.boolean().optional(),
  controlPlane: z.enum(["eks", "gke", "aks", "none"]).optional(),
});

const overrideInput = z.strictObject({
  match: z.strictObject({ kind: z.string(), name: z.string().optional() }),
  patch: z.record(z.string(), z.unknown()),
});

/** Fields every target has, whatever its kind. */
export const targetCommonShape = {
  kind: z.string(),
  pricing: pricingInput.optional(),
  registry: z.string().min(1).optional().describe("Registry that built images are pushed to for this target, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com."),
  overrides: capped(z.array(overrideInput), "overrides", "items", "overrides in one target", `Keep at most ${LIMITS.overrides} overrides per target; one override can patch several fields.`).optional(),
};

const COMMON_TARGET_KEYS = ["kind", "pricing", "overrides", "name", "registry"] as const;
const targetSchemas = new WeakMap<TargetKindSpec, z.ZodObject>();

/**
 * The whole schema of one target of `spec`'s kind: the common fields, `kind`
 * fixed to the spec's, and the backend's settings; strict, so unknown keys are
 * reported with did-you-mean over both. Built once per spec.
 */
export function targetSchemaOf(spec: TargetKindSpec): z.ZodObject {
  let schema = targetSchemas.get(spec);
  if (!schema) {
    // A spec declaring a common field is refused by the registry (reservedTargetSettings); never let it replace one here.
    const { kind: _k, pricing: _p, overrides: _o, name: _n, registry: _r, ...own } = spec.settings.shape;
    schema = z.strictObject({ ...targetCommonShape, kind: z.literal(spec.kind), ...own });
    if (spec.settings.description) schema = schema.describe(spec.settings.description);
    targetSchemas.set(spec, schema);
  }
  return schema;
}

/** Settings a spec must not declare: every target has them, with the sdk's meaning. */
export function reservedTargetSettings(spec: TargetKindSpec): string[] {
  return COMMON_TARGET_KEYS.filter((k) => k in spec.settings.shape);
}

const appShape = {
  $schema: z.string().optional(),
  name: capped(name, "nameLength", "length", "characters in the app name", `Shorten the app name to at most ${LIMITS.nameLength} characters (a DNS-1123 label).`),
  labels: labelMap.optional(),
  defaultTarget: z.string().optional(),
  plugins: z.array(z.string().min(1)).max(100).optional()
    .describe("Modules that add backends (target kinds) or price sources, loaded by the sdx CLI before the app is validated: package names resolved from this file's directory, or paths relative to it. A plugin runs code: name only what you trust."),
  build: z.strictObject({
    registry: z.string().min(1).optional().describe("Registry built images are pushed to as <registry>/<app>-<service>, e.g. ghcr.io/acme."),
    base: z.string().min(1).optional().describe("Base image of every built service that names none."),
  }).optional(),
  services: capped(z.record(name, serviceInput), "services", "keys", "services", `Keep at most ${LIMITS.services} services in one app; split it into several apps.`)
    .refine((s) => Object.keys(s).length > 0, { message: "an app needs at least one service" })
    .describe(`The app's services, at most ${LIMITS.services}; together at most ${LIMITS.filesPerApp} files and ${LIMITS.secretsPerApp} secrets.`),
  targets: capped(z.record(name, z.unknown()), "targets", "keys", "targets", `Keep at most ${LIMITS.targets} targets in one app.`).optional(),
};

/** Files and secrets of the whole app, each of which is read from somewhere: capped in total, not only per service. */
function checkAppTotals(app: { services?: unknown }, ctx: z.RefinementCtx): void {
  const services = app.services !== null && typeof app.services === "object" ? Object.values(app.services as object) : [];
  let files = 0;
  let secrets = 0;
  for (const s of services) {
    if (s === null || typeof s !== "object") continue;
    const svc = s as { files?: unknown; secrets?: unknown };
    files += Array.isArray(svc.files) ? svc.files.length : 0;
    secrets += svc.secrets !== null && typeof svc.secrets === "object" ? Object.keys(svc.secrets).length : 0;
  }
  const over = (limit: "filesPerApp" | "secretsPerApp", actual: number, unit: string, hint: string): void => {
    if (actual <= LIMITS[limit]) return;
    const params: LimitIssueParams = { limit, max: LIMITS[limit], actual, measure: "items", unit, hint };
    ctx.addIssue({ code: "custom", path: ["services"], message: `${actual} ${unit}; the limit is ${LIMITS[limit]}`, params: { ...params } });
  };
  over("filesPerApp", files, "files across the app's services", `Keep at most ${LIMITS.filesPerApp} files in one app; bundle them into fewer files or the images.`);
  over("secretsPerApp", secrets, "secrets across the app's services", `Keep at most ${LIMITS.secretsPerApp} secrets in one app; share one secret between services instead of copying it.`);
}

/** The app document. Targets are checked one by one by kind (see normalize-app.ts). */
export const appInputSchema = z
  .strictObject(appShape)
  // `when`: run even when other parts of the document are wrong, so the totals are reported with them.
  .superRefine(checkAppTotals, { when: () => true });

/** The authoring type of one service, for `defineApp()`. */
export type ServiceInput = z.input<typeof serviceInput>;
/**
 * The authoring type of one target, for `defineApp()`: the common fields and
 * the settings of its kind (checked when the app is loaded; backends export
 * their kind's input type, e.g. `z.input<typeof k8sTargetSpec.settings>`).
 */
export type TargetInput = z.input<z.ZodObject<typeof targetCommonShape>> & Record<string, unknown>;
/** The authoring type of a whole app, for `defineApp()`. */
export type AppInput = Omit<z.input<typeof appInputSchema>, "targets"> & { targets?: Record<string, TargetInput> };

/**
 * JSON Schema of the authoring format, for editors (`sdx schema`): each target
 * is one of the given kinds (the registered backends', third-party ones
 * included), told apart by `kind`. Without kinds, targets are described by
 * their common fields only.
 */
export function appJsonSchema(targetKinds: Iterable<TargetKindSpec>): Record<string, unknown> {
  const kinds = [...targetKinds].map(targetSchemaOf);
  const [first, ...rest] = kinds;
  const target = first ? z.discriminatedUnion("kind", [first, ...rest]) : z.looseObject(targetCommonShape);
  const forEditors = z.strictObject({
    ...appShape,
    targets: capped(z.record(name, target), "targets", "keys", "targets", "").optional(),
  });
  const schema = z.toJSONSchema(forEditors, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
  return { ...schema, $id: "https://sdx.dev/schema/app.json", title: "sdx app" };
}
