/**
 * Documented size and count limits of an app, in one place. The schema
 * (`app-schema.ts`) enforces them with `SDX_LIMIT_EXCEEDED` diagnostics and
 * publishes them in the JSON Schema (`maximum`, `maxItems`, `maxProperties`,
 * `maxLength`); the YAML loader enforces the parse budgets. Every limit is far
 * above what a real app needs and far below what makes sdx slow or lets a
 * hostile file exhaust memory: the work sdx does stays linear in these numbers.
 */
export const LIMITS = {
  /** Bytes of an app file (`sdx.yaml`, `sdx.json`, a Compose file) and of a config module's output. */
  appFileBytes: 4 * 1024 * 1024,
  /** Bytes of any one file or secret an app names (`files[].fromFile`, `secrets.*.fromFile`, Compose `env_file`, ...); backends may allow less. */
  fileBytes: 1024 * 1024,
  /** Services in one app. Validation, plan and import of this many stay under 2 s. */
  services: 1000,
  /** Targets in one app. */
  targets: 100,
  /**
   * Replicas of one service (`replicas`, `autoscale.min`/`max`, `placement.minOnDemand`).
   * ECS caps a service at 5,000 tasks, the lowest hard cap of the three backends
   * (a Kubernetes Deployment's int32 and Swarm's uint64 are no guide); pricing is
   * arithmetic in it, so a higher limit would cost nothing but mean nothing either.
   */
  replicas: 5000,
  /** Labels of the app and of each service (Kubernetes has no count limit, but every label is copied to every object). */
  labels: 100,
  /** Environment variables of one service (ECS caps a whole task definition at 64 KiB). */
  env: 1000,
  /** Secrets of one service. */
  secretsPerService: 100,
  /** Secrets of the whole app: each one is read, hashed and written at deploy time. */
  secretsPerApp: 1000,
  /** Config files (`files`) of one service. */
  filesPerService: 100,
  /** Config files of the whole app: each one is read from disk at validation time. */
  filesPerApp: 1000,
  /** Ports of one service. */
  ports: 100,
  /** Volumes of one service. */
  volumes: 100,
  /** Overrides of one target. */
  overrides: 100,
  /** App names and Kubernetes namespaces are DNS-1123 labels. */
  nameLength: 63,
  /** Nesting depth of the app document (maps and lists, after alias expansion). sdx's own format needs about 8. */
  depth: 64,
  /** Aliases (`*name`) in one YAML app file. */
  yamlAliases: 10_000,
  /** Nodes that aliases may add when expanded: stops "billion laughs" alias bombs. */
  yamlAliasNodes: 100_000,
  /** `include`/`exclude` glob patterns of one service's `build`. */
  buildPatterns: 200,
  /** Bytes of one file put in a built image (app files and dependencies); a bigger one is data, not code. */
  buildFileBytes: 256 * 1024 * 1024,
  /** Bytes of all files of one layer sdx builds from a directory (the app files; `node_modules`). */
  buildContextBytes: 1024 * 1024 * 1024,
  /** Files, directories and symlinks of one layer sdx builds from a directory. */
  buildContextFiles: 100_000,
  /** Milliseconds a config module (`sdx.config.ts`) may take to produce the app (env `SDX_CONFIG_TIMEOUT_MS`). */
  configTimeoutMs: 10_000,
} as const;

/** The name of one limit in {@link LIMITS}. */
export type LimitName = keyof typeof LIMITS;
