/**
 * The authoring format of `sdx.yaml` / `sdx.json` / `defineApp()`, as zod schemas.
 * Structure only: units, cross-field rules and normalisation live in
 * `validation/normalize-app.ts`, so that one pass can report every problem.
 * The same schemas produce the JSON Schema printed by `sdx schema`.
 */
import { z } from "zod";

const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
  message: "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
});
const stringMap = z.record(z.string(), z.string());
const quantity = z.union([z.string(), z.number()]);
const duration = z.union([z.string(), z.number()]).describe('Duration such as "10s", "1m30s", or seconds as a number.');
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
  cpu: quantity.optional().describe('Cores (0.5) or millicores ("500m").'),
  memory: quantity.optional().describe('With a unit: "512Mi", "1Gi".'),
  limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
});

const serviceInput = z.strictObject({
  image: z.string().min(1).describe("Image reference; pin it with @sha256:… for reproducible deploys."),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  args: z.union([z.array(z.string()), z.string()]).optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  secrets: z.record(name, secretInput).optional(),
  files: z.array(fileInput).optional(),
  ports: z.array(portInput).optional(),
  health: healthInput.optional(),
  resources: resourcesInput.optional(),
  replicas: z.number().int().min(0).optional(),
  autoscale: z
    .strictObject({ min: z.number().int().min(0), max: z.number().int().min(1), targetCpu: z.number().int().min(1).max(100).optional() })
    .optional(),
  volumes: z
    .array(
      z.strictObject({
        name,
        path: z.string(),
        kind: z.enum(["ephemeral", "persistent"]).optional(),
        size: quantity.optional(),
        readOnly: z.boolean().optional(),
      }),
    )
    .optional(),
  placement: z
    .strictObject({
      spot: z.enum(["never", "prefer", "only"]).optional(),
      minOnDemand: z.number().int().min(0).optional(),
      arch: z.enum(["amd64", "arm64"]).optional(),
      constraints: stringMap.optional(),
    })
    .optional(),
  rollout: z
    .strictObject({
      strategy: z.enum(["rolling", "recreate"]).optional(),
      maxSurge: z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]).optional(),
      maxUnavailable: z.union([z.number().int().min(0), z.string().regex(/^\d+%$/)]).optional(),
      autoRollback: z.boolean().optional(),
      timeout: duration.optional(),
    })
    .optional(),
  labels: stringMap.optional(),
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
  overrides: z.array(overrideInput).optional(),
};

/** Built-in target kinds and their connection settings. */
export const builtinTargetSchemas = {
  kubernetes: z.strictObject({
    ...targetCommonShape,
    kind: z.literal("kubernetes"),
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    namespace: name.optional(),
    expose: z.enum(["load-balancer", "ingress", "node-port"]).optional(),
    ingressClass: z.string().optional(),
    spotLabels: z.array(z.strictObject({ key: z.string(), value: z.string(), onDemandValue: z.string() })).optional(),
  }),
  swarm: z.strictObject({
    ...targetCommonShape,
    kind: z.literal("swarm"),
    host: z.string().optional(),
    tlsDir: z.string().optional(),
    spotLabel: z.string().optional(),
    publishMode: z.enum(["ingress", "host"]).optional(),
  }),
  ecs: z.strictObject({
    ...targetCommonShape,
    kind: z.literal("ecs"),
    region: z.string(),
    cluster: z.string(),
    createCluster: z.boolean().optional(),
    subnets: z.array(z.string()).optional(),
    securityGroups: z.array(z.string()).optional(),
    assignPublicIp: z.boolean().optional(),
    executionRoleArn: z.string().optional(),
    taskRoleArn: z.string().optional(),
    targetGroups: stringMap.optional(),
    endpoint: z.string().optional(),
    spotFallbackAfter: duration.optional(),
    spotFallback: z.boolean().optional(),
    keepRevisions: z.number().int().min(1).optional(),
  }),
} as const;

/** A target of a third-party kind: common fields plus anything its backend accepts. */
export const customTargetSchema = z.looseObject(targetCommonShape);

/** The app document. Targets are checked one by one by kind (see normalize-app.ts). */
export const appInputSchema = z.strictObject({
  $schema: z.string().optional(),
  name: name.max(63),
  labels: stringMap.optional(),
  defaultTarget: z.string().optional(),
  services: z.record(name, serviceInput).refine((s) => Object.keys(s).length > 0, { message: "an app needs at least one service" }),
  targets: z.record(name, z.unknown()).optional(),
});

/** The authoring type of one service, for `defineApp()`. */
export type ServiceInput = z.input<typeof serviceInput>;
/** The authoring type of one target, for `defineApp()`. */
export type TargetInput =
  | z.input<(typeof builtinTargetSchemas)["kubernetes"]>
  | z.input<(typeof builtinTargetSchemas)["swarm"]>
  | z.input<(typeof builtinTargetSchemas)["ecs"]>
  | (z.input<typeof customTargetSchema> & Record<string, unknown>);
/** The authoring type of a whole app, for `defineApp()`. */
export type AppInput = Omit<z.input<typeof appInputSchema>, "targets"> & { targets?: Record<string, TargetInput> };

/** JSON Schema of the authoring format, for editors (`sdx schema`). */
export function appJsonSchema(): Record<string, unknown> {
  const forEditors = appInputSchema.extend({
    targets: z
      .record(name, z.discriminatedUnion("kind", [builtinTargetSchemas.kubernetes, builtinTargetSchemas.swarm, builtinTargetSchemas.ecs]))
      .optional(),
  });
  const schema = z.toJSONSchema(forEditors, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
  return { ...schema, $id: "https://sdx.dev/schema/app.json", title: "sdx app" };
}
