import { isAbsolute, join, posix, relative as relativePath } from "node:path";
import { SdxError } from "../errors/sdx-error.js";
import { interpolate } from "../load/interpolate.js";
import { formatPath, type Diagnostic } from "../validation/diagnostic.js";
import { interpolateCompose, type ComposeTemplate, type Env, type InterpolateComposeStringResult } from "./compose-interpolate.js";
import { bytesToSdxMemory, parseComposeBytes, parseComposeCpus, parseComposeDuration, toSdxDuration } from "./compose-units.js";
import { isDnsLabel, toDnsLabel, uniqueLabel } from "./dns-label.js";
import { parseEnvFile, readDotEnv } from "./env-file.js";
import { ImportReport } from "./import-report.js";
import type { ImportOptions, ImportResult } from "./import-result.js";
import { parseSourceYaml } from "./parse-source.js";
import { looksCredential, looksSecret, looksSecretValue, urlPassword } from "./secret-like.js";
import { splitShellWords } from "./shell-words.js";
import { maskString } from "../secrets/sensitive-values.js";
import { guardUrlPasswords } from "./guard-url-passwords.js";
import { Split, splitDocument } from "./split-value.js";

/** Options for {@link importCompose}. */
export interface ImportComposeOptions extends ImportOptions {
  /** Variables for interpolation, as the shell Compose runs in. Library code does not read `process.env`; the CLI passes it. @default {} */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Active profiles; `"*"` activates all. @default `env.COMPOSE_PROFILES` split on commas, else none */
  readonly profiles?: readonly string[];
  /** App name, like `docker compose -p`. @default `COMPOSE_PROJECT_NAME`, then the top-level `name`, then the directory name, then "app" */
  readonly projectName?: string;
  /** Read `.env` in `baseDir` for interpolation variables, as Compose does (`env` wins). @default true */
  readonly dotEnv?: boolean;
  /**
   * Write the values of variables from the environment and `.env` into the
   * template (sdx.yaml) instead of `${VAR}` references. Variables whose name or
   * value looks secret stay references even then. The CLI's `--inline-env`.
   * @default false
   */
  readonly inlineEnv?: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined);
const int = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isInteger(v) ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;
/** Container variable names every backend passes (Kubernetes' rule; Docker and ECS take any name without `=`): `discovery.type` is one. */
const ENV_NAME = /^[-._A-Za-z][-._A-Za-z0-9]*$/;
/** Names a shell can export: secrets exposed as variables need one (Swarm exports them in `sh -c`). */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_RULE = "letters, digits, '_', '-' and '.', not starting with a digit";
/** A template that is one variable and nothing else (`${VAR}`, or `${VAR:-}` when unset at import time). */
const WHOLE_VAR_TEMPLATE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-)?\}$/;
/** Codes of the contained reader's refusals: the file is not missing, it must not be read. */
const REFUSED = new Set(["SDX_PATH_OUTSIDE_APP", "SDX_FILE_NOT_REGULAR", "SDX_FILE_TOO_LARGE", "SDX_INVALID_ENCODING"]);
const OVERRIDE_HINT = "if a backend supports it, set it with a per-target `overrides` patch";

/** Top-level keys and what becomes of them, beyond `services`, `secrets`, `configs`, `volumes`. */
const TOP_LEVEL: Readonly<Record<string, readonly ["dropped" | "ignored", string]>> = {
  version: ["ignored", "obsolete in the Compose specification"],
  networks: ["ignored", "sdx gives each app one private network on which every service reaches the others by name"],
  include: ["dropped", "included files are not read; merge them first with `docker compose config > compose.yaml`"],
  models: ["dropped", "AI models are not part of the sdx model"],
};

/** Service keys sdx has no field for, with the reason shown to the user. */
const SERVICE_KEYS: Readonly<Record<string, readonly ["dropped" | "ignored" | "approximated", string]>> = {
  container_name: ["dropped", "sdx names backend objects <app>-<service>; other services reach this one by its service name"],
  hostname: ["dropped", "the service name is the host name on every backend"],
  domainname: ["dropped", "the service name is the host name on every backend"],
  links: ["approximated", "services reach each other by service name on the app network; link aliases are not kept"],
  external_links: ["dropped", "sdx services reach only services of the same app"],
  restart: ["approximated", "sdx services always restart when they exit (restart: always)"],
  pull_policy: ["ignored", "backends pull the image when they deploy it"],
  develop: ["ignored", "development-only (compose watch)"],
  extends: ["dropped", "extends is not resolved; flatten it first with `docker compose config > compose.yaml`"],
  logging: ["dropped", `logs go to the backend's default log driver; ${OVERRIDE_HINT}`],
  stop_grace_period: ["dropped", `sdx uses the backend's default stop timeout; ${OVERRIDE_HINT}`],
  stop_signal: ["dropped", "set STOPSIGNAL in the image instead"],
  working_dir: ["dropped", "set WORKDIR in the image instead"],
  user: ["dropped", "set USER in the image instead"],
  privileged: ["dropped", "sdx does not grant extra privileges"],
  cap_add: ["dropped", "sdx does not grant extra privileges"],
  cap_drop: ["dropped", `sdx keeps the backend's default capabilities; ${OVERRIDE_HINT}`],
  security_opt: ["dropped", `sdx keeps the backend's default security options; ${OVERRIDE_HINT}`],
  network_mode: ["dropped", "sdx services always join the app network"],
  extra_hosts: ["dropped", "sdx does not edit /etc/hosts; use DNS names"],
  dns: ["dropped", "sdx uses the backend's DNS"],
  dns_opt: ["dropped", "sdx uses the backend's DNS"],
  dns_search: ["dropped", "sdx uses the backend's DNS"],
  mac_address: ["dropped", "sdx does not set MAC addresses"],
  ipc: ["dropped", "sdx does not share IPC namespaces"],
  pid: ["dropped", "sdx does not share PID namespaces"],
  uts: ["dropped", "sdx does not share UTS namespaces"],
  userns_mode: ["dropped", "sdx does not set user namespaces"],
  init: ["dropped", "add an init (tini) to the image instead"],
  tty: ["dropped", "sdx services run without a terminal"],
  stdin_open: ["dropped", "sdx services run without stdin"],
  read_only: ["dropped", `sdx does not make the root file system read-only; ${OVERRIDE_HINT}`],
  devices: ["dropped", "sdx does not map host devices"],
  device_cgroup_rules: ["dropped", "sdx does not map host devices"],
  gpus: ["dropped", "sdx has no GPU resources yet"],
  ulimits: ["dropped", `sdx keeps the backend's default ulimits; ${OVERRIDE_HINT}`],
  sysctls: ["dropped", `sdx keeps the backend's default sysctls; ${OVERRIDE_HINT}`],
  shm_size: ["dropped", `sdx keeps the backend's default /dev/shm size; ${OVERRIDE_HINT}`],
  storage_opt: ["dropped", "sdx does not set storage driver options"],
  volumes_from: ["dropped", "sdx services do not share volumes; give each its own"],
  group_add: ["dropped", "set groups in the image instead"],
  runtime: ["dropped", "sdx uses the backend's default runtime"],
  isolation: ["dropped", "sdx uses the backend's default isolation"],
  cgroup: ["dropped", "sdx uses the backend's default cgroup settings"],
  cgroup_parent: ["dropped", "sdx uses the backend's default cgroup settings"],
  oom_kill_disable: ["dropped", "sdx keeps the backend's OOM behaviour"],
  oom_score_adj: ["dropped", "sdx keeps the backend's OOM behaviour"],
  pids_limit: ["dropped", "sdx has no PID limit"],
  cpu_shares: ["dropped", "use deploy.resources (cpu request and limit) instead"],
  cpu_quota: ["dropped", "use deploy.resources (cpu limit) instead"],
  cpu_period: ["dropped", "use deploy.resources (cpu limit) instead"],
  cpu_count: ["dropped", "use deploy.resources (cpu limit) instead"],
  cpu_percent: ["dropped", "use deploy.resources (cpu limit) instead"],
  cpu_rt_runtime: ["dropped", "sdx has no real-time CPU scheduling"],
  cpu_rt_period: ["dropped", "sdx has no real-time CPU scheduling"],
  cpuset: ["dropped", "sdx does not pin CPUs"],
  memswap_limit: ["dropped", "sdx has no swap setting"],
  mem_swappiness: ["dropped", "sdx has no swap setting"],
  blkio_config: ["dropped", "sdx has no block I/O limits"],
  credential_spec: ["dropped", "Windows-only"],
  annotations: ["dropped", "sdx has no container annotations; labels are kept"],
  attach: ["ignored", "log attachment is a `docker compose up` setting"],
  post_start: ["dropped", "sdx has no lifecycle hooks"],
  pre_stop: ["dropped", "sdx has no lifecycle hooks"],
  pre_start: ["dropped", "sdx has no lifecycle hooks"],
  use_api_socket: ["dropped", "sdx does not mount the Docker API socket"],
  provider: ["dropped", "provider services are not part of the sdx model"],
  models: ["dropped", "AI models are not part of the sdx model"],
  label_file: ["dropped", "label files are not read; copy the labels into labels"],
};

interface Ctx {
  readonly r: ImportReport;
  readonly env: Env;
  readonly opts: ImportComposeOptions;
  readonly project: string;
  readonly secretsDef: Obj;
  readonly configsDef: Obj;
  readonly volumesDef: Obj;
  /** Top-level secret/config/volume names used by some imported service. */
  readonly used: { secrets: Set<string>; configs: Set<string>; volumes: Map<string, string[]> };
  readonly publishModes: { mode: "host" | "ingress"; path: string }[];
  /** Templates of interpolated strings, by source path. */
  readonly templates: ReadonlyMap<string, InterpolateComposeStringResult>;
  /** Source paths whose template was written (the rest were read at import time). */
  readonly templated: Set<string>;
  /** Variables read from `.env` (and not from the environment). */
  readonly dotEnvNames: ReadonlySet<string>;
  /** Variables sdx.yaml references. */
  readonly referenced: Set<string>;
  /** Of those, the ones read by `${VAR}` interpolation when sdx loads the file. */
  readonly interpolated: Set<string>;
  /** Of those, the ones `fromEnv` secrets read at deploy time. */
  readonly fromEnv: Set<string>;
  /** Values that must never appear in the template, the report or diagnostics. */
  readonly secretValues: Set<string>;
  /** Environment variable names generated for credential literals, with the literal's value. */
  readonly generated: Map<string, string>;
}

/**
 * Imports a Compose file (the Compose specification, including its Deploy part)
 * into the authoring format of `sdx.yaml`. Pure: files are read through
 * `options.readFile`, variables come from `options.env`. Every key that does not
 * carry over one to one is in `report` with its path and the reason.
 */
export function importCompose(text: string, options: ImportComposeOptions = {}): ImportResult {
  const r = new ImportReport();
  const fileName = options.fileName ?? "compose.yaml";
  const parsed = parseSourceYaml(text, fileName);
  r.diagnostics.push(...parsed.diagnostics);
  if (parsed.value === undefined && parsed.diagnostics.length > 0) return { document: {}, template: {}, report: r.notes, diagnostics: r.diagnostics };
  if (!isObj(parsed.value)) {
    r.error("SDX_WRONG_TYPE", "", `${fileName} is not a Compose file: expected a mapping with \`services\``);
    return { document: {}, template: {}, report: r.notes, diagnostics: r.diagnostics };
  }

  const { env, dotEnvNames } = interpolationEnv(options, r);
  const raw = parsed.value;
  const interp = interpolateCompose(raw, env);
  const root = interp.value as Obj;
  const interpDiags = [...interp.diagnostics];

  const project = projectName(options, env, root, r);
  const ctx: Ctx = {
    r, env, opts: options, project,
    secretsDef: isObj(root.secrets) ? root.secrets : {},
    configsDef: isObj(root.configs) ? root.configs : {},
    volumesDef: isObj(root.volumes) ? root.volumes : {},
    used: { secrets: new Set(), configs: new Set(), volumes: new Map() },
    publishModes: [],
    templates: interp.templates, templated: new Set(), dotEnvNames, referenced: new Set(), interpolated: new Set(), fromEnv: new Set(), secretValues: new Set(), generated: new Map(),
  };
  for (const t of interp.templates.values()) for (const v of t.variables) noteSecretVariable(ctx, v);

  for (const key of Object.keys(root)) {
    if (key === "services" || key === "secrets" || key === "configs" || key === "volumes" || key === "name") continue;
    if (key.startsWith("x-")) r.ignored(key, "extension field; fragments it defines are merged where they are used (<<: *anchor)");
    else if (TOP_LEVEL[key]) r.note(TOP_LEVEL[key][0], key, TOP_LEVEL[key][1]);
    else r.dropped(key, "not a Compose top-level element sdx knows");
  }

  // Profiles decide which services exist before names are mapped.
  const active = new Set(options.profiles ?? (env.COMPOSE_PROFILES ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""));
  const services = isObj(root.services) ? root.services : {};
  if (!isObj(root.services)) r.error("SDX_MISSING", "services", `${fileName} has no services`, "A Compose file needs a `services` mapping.");
  const included: string[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const profiles = isObj(svc) && Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
    if (profiles.length > 0 && !active.has("*") && !profiles.some((p) => active.has(p))) {
      r.ignored(formatPath(["services", name]), `not imported: only in profile${profiles.length > 1 ? "s" : ""} ${profiles.join(", ")}, which ${profiles.length > 1 ? "are" : "is"} not active (pass profiles or set COMPOSE_PROFILES)`);
      continue;
    }
    if (profiles.length > 0) r.translated(formatPath(["services", name, "profiles"]), `imported: profile ${profiles.filter((p) => active.has(p) || active.has("*")).join(", ") || "*"} is active`);
    included.push(name);
  }

  // DNS-1123 names, renamed where needed.
  const taken = new Set<string>();
  const names = new Map<string, string>();
  for (const name of included) {
    const sdxName = uniqueLabel(toDnsLabel(name), taken);
    names.set(name, sdxName);
    if (sdxName !== name) {
      r.approximated(formatPath(["services", name]), `renamed to "${sdxName}": service names must be DNS-1123 labels. Other services must use the host name "${sdxName}"`);
    }
  }

  // Interpolation diagnostics of services left out by profiles do not matter.
  const skipped = Object.keys(services).filter((n) => !names.has(n)).map((n) => formatPath(["services", n]));
  const outServices: Record<string, unknown> = {};
  const consumedEnvPaths = new Set<string>();
  for (const name of included) {
    const svc = services[name];
    if (!isObj(svc)) {
      r.error("SDX_WRONG_TYPE", formatPath(["services", name]), `service "${name}" must be a mapping`);
      continue;
    }
    const out = importService(ctx, name, names.get(name)!, svc, consumedEnvPaths);
    if (out) outServices[names.get(name)!] = out;
  }
  r.diagnostics.push(
    ...interpDiags.filter((d) => !consumedEnvPaths.has(d.path) && !skipped.some((s) => d.path === s || d.path.startsWith(`${s}.`) || d.path.startsWith(`${s}[`))),
  );

  reportReachability(ctx, services, names, outServices);
  reportDefinitions(ctx, "secrets", ctx.secretsDef, ctx.used.secrets);
  reportDefinitions(ctx, "configs", ctx.configsDef, ctx.used.configs);
  reportVolumes(ctx);

  if (Object.keys(outServices).length === 0 && isObj(root.services)) {
    r.error("SDX_IMPORT_NO_SERVICES", "services", "no service was imported", "Check the profiles: services in inactive profiles are left out.");
  }

  const modes = new Set(ctx.publishModes.map((m) => m.mode));
  const publishMode = modes.size === 1 && modes.has("host") ? "host" : "ingress";
  if (modes.size > 1) {
    for (const m of ctx.publishModes) {
      if (m.mode !== publishMode) r.approximated(m.path, `published in ${m.mode} mode; an sdx Swarm target publishes every port one way (publishMode: ${publishMode})`);
    }
  }
  const targets = options.targets ?? { swarm: { kind: "swarm", ...(publishMode === "host" ? { publishMode: "host" } : {}) } };
  reportImportTimeValues(ctx, skipped);
  reportDotEnvReferences(ctx);
  const split = splitDocument({ name: project, services: outServices, ...(Object.keys(targets).length ? { targets } : {}) });
  return guardSecrets(ctx, { document: split.document, template: split.template, report: r.notes, diagnostics: r.diagnostics });
}

/** Interpolation variables: `.env` in the project directory under `options.env`, as Compose reads them. */
function interpolationEnv(options: ImportComposeOptions, r: ImportReport): { env: Env; dotEnvNames: ReadonlySet<string> } {
  const env = options.env ?? {};
  if (options.dotEnv === false || !options.readFile || options.baseDir === undefined) return { env, dotEnvNames: new Set() };
  const dot = readDotEnv(options.baseDir, options.readFile, env);
  r.diagnostics.push(...dot.diagnostics);
  if (!dot.found) return { env, dotEnvNames: new Set() };
  r.translated(".env", "read for interpolation variables, as Compose does (the environment wins)");
  const fromEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
  return { env: { ...dot.vars, ...fromEnv }, dotEnvNames: new Set(Object.keys(dot.vars).filter((k) => !(k in fromEnv))) };
}

/** True when a variable's name or value looks secret; its value is then kept out of every output. */
function noteSecretVariable(ctx: Ctx, name: string): boolean {
  const v = ctx.env[name];
  const secret = looksSecret(name) || (v !== undefined && looksSecretValue(v));
  // Very short values would match ordinary text; such a value is still never written as a value.
  if (secret && v !== undefined && v.length >= 4) ctx.secretValues.add(v);
  return secret;
}

/** True when sdx interpolation reads `template` as `value` with the import's variables. */
function sdxReads(ctx: Ctx, template: string, value: string): boolean {
  const r = interpolate(template, ctx.env);
  return r.value === value && !r.diagnostics.some((d) => d.severity === "error");
}

/**
 * What sdx.yaml writes for a string taken whole from `path` of the Compose
 * file: its template, so that variables stay references, or the value itself
 * when the string read no variable (or with `inlineEnv`, when none is secret).
 */
function keep(ctx: Ctx, path: string, value: string): string | Split {
  const t = ctx.templates.get(path);
  if (!t || t.value !== value) return value;
  ctx.templated.add(path);
  return keepTemplate(ctx, path, value, t);
}

function keepTemplate(ctx: Ctx, path: string, value: string, t: ComposeTemplate): string | Split {
  if (t.variables.length === 0) return value;
  const names = t.variables.map((v) => `$${v}`).join(", ");
  const secret = t.variables.filter((v) => noteSecretVariable(ctx, v));
  if (ctx.opts.inlineEnv && secret.length === 0) {
    ctx.r.translated(path, `the value of ${names} at import time is written (inlineEnv)`);
    return value;
  }
  for (const written of [t.full, t.decided]) {
    if (!sdxReads(ctx, written, value)) continue;
    if (written !== t.full) ctx.r.approximated(path, `keeps ${names} as a reference, but the branch of a default or alternative was chosen at import time: sdx interpolation cannot express the construct`);
    for (const v of t.variables) {
      if (!written.includes(`\${${v}`)) continue;
      ctx.referenced.add(v);
      ctx.interpolated.add(v);
    }
    return new Split(value, written);
  }
  if (secret.length > 0) {
    ctx.r.error("SDX_IMPORT_SECRET_VALUE", path, `${secret.map((v) => `$${v}`).join(", ")} looks secret, and this value cannot be written as a reference; it is left out of sdx.yaml`,
      `Write the field in sdx.yaml as \${${secret[0]}} (or a secrets entry with fromEnv: ${secret[0]}), or pass the whole value as a secret.`);
    return new Split(value, "");
  }
  ctx.r.approximated(path, `the value of ${names} at import time is written: sdx interpolation cannot express it`);
  return value;
}

/** Interpolated fields sdx.yaml cannot hold as references (numbers, parsed values): they keep the value at import time. */
function reportImportTimeValues(ctx: Ctx, skipped: readonly string[]): void {
  for (const [path, t] of ctx.templates) {
    if (ctx.templated.has(path) || !path.startsWith("services.")) continue;
    if (skipped.some((s) => path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`))) continue;
    ctx.r.approximated(path, `reads ${t.variables.map((v) => `$${v}`).join(", ")} at import time: this field cannot hold a \${VAR} reference in sdx.yaml, so edit it there to change it`);
  }
}

/** Variables from `.env` that sdx.yaml references: `fromEnv` reads `.env` beside the app file, `${VAR}` only the environment. */
function reportDotEnvReferences(ctx: Ctx): void {
  const list = (names: readonly string[], f: (v: string) => string): string => names.map(f).join(", ");
  const secrets = [...ctx.fromEnv].filter((v) => ctx.dotEnvNames.has(v)).sort();
  if (secrets.length > 0) {
    ctx.r.translated(".env", `${list(secrets, (v) => `$${v}`)} from .env feed${secrets.length === 1 ? "s" : ""} fromEnv secrets, as Compose feeds them to the containers: sdx reads .env beside the app file for fromEnv at plan and deploy (the environment wins), so keep .env next to sdx.yaml and out of version control`);
  }
  const names = [...ctx.interpolated].filter((v) => ctx.dotEnvNames.has(v)).sort();
  if (names.length === 0) return;
  ctx.r.approximated(".env", `sdx.yaml references ${list(names, (v) => `\${${v}}`)}, which ${names.length === 1 ? "comes" : "come"} from .env; sdx interpolates only from the environment, so export ${names.length === 1 ? "it" : "them"} before sdx plan or deploy (e.g. set -a; . ./.env; set +a)`);
}

/**
 * The last line of defence: no value of a secret-looking variable or credential
 * literal may reach the template, the report or a diagnostic. A template string
 * holding one is an error (and is blanked); messages are redacted.
 */
function guardSecrets(ctx: Ctx, result: ImportResult): ImportResult {
  const secrets = [...ctx.secretValues].sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return result;
  const hit = (s: string): boolean => secrets.some((v) => s.includes(v));
  const redact = (s: string): string => maskString(s, secrets);
  const leaks: Diagnostic[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === "string" && hit(v)) {
      leaks.push({ code: "SDX_IMPORT_SECRET_VALUE", severity: "error", path: formatPath(path), message: "a secret value would be written here; it is left out of sdx.yaml", hint: "Reference it instead: ${VAR} in the value, or a secrets entry with fromEnv." });
      return "";
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    return v;
  };
  const template = walk(result.template, []) as Record<string, unknown>;
  const clean = (d: Diagnostic): Diagnostic => ({ ...d, message: redact(d.message), ...(d.hint !== undefined ? { hint: redact(d.hint) } : {}) });
  return {
    document: result.document,
    template,
    report: result.report.map((n) => (hit(n.reason) ? { ...n, reason: redact(n.reason) } : n)),
    diagnostics: [...result.diagnostics, ...leaks].map(clean),
  };
}

function projectName(options: ImportComposeOptions, env: Env, root: Obj, r: ImportReport): string {
  const fromDir = (): string | undefined => {
    const dir = options.baseDir ?? (options.fileName ? posix.dirname(options.fileName.replace(/\\/g, "/")) : undefined);
    const base = dir === undefined ? undefined : posix.basename(posix.resolve("/", dir.replace(/\\/g, "/")));
    return base && base !== "." ? base : undefined;
  };
  const [source, chosen] = options.projectName !== undefined ? ["the projectName option", options.projectName]
    : env.COMPOSE_PROJECT_NAME ? ["COMPOSE_PROJECT_NAME", env.COMPOSE_PROJECT_NAME]
      : typeof root.name === "string" && root.name !== "" ? ["name", root.name]
        : fromDir() !== undefined ? ["the directory name", fromDir()!]
          : ["the default", "app"];
  const name = toDnsLabel(chosen);
  if (name !== chosen) r.approximated(typeof root.name === "string" ? "name" : "", `app name "${chosen}" (from ${source}) became "${name}": app names must be DNS-1123 labels`);
  else if (root.name !== undefined && source !== "name") r.translated("name", `the app is named "${name}" from ${source}, which takes precedence, as in Compose`);
  return name;
}

function importService(ctx: Ctx, name: string, sdxName: string, svc: Obj, consumedEnvPaths: Set<string>): Record<string, unknown> | undefined {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, ...rest]);

  // Image, or the image Compose would build.
  let image = str(svc.image);
  if (svc.build !== undefined) {
    if (image) r.ignored(p("build"), `sdx deploys the image "${image}" and does not build it; build and push it before deploying`);
    else {
      image = `${ctx.project}-${sdxName}`;
      r.approximated(p("build"), `no image: sdx deploys images and does not build them. Compose would build "${image}" locally; build it, push it to a registry and set image to the pushed reference, pinned with @sha256`);
      r.warning("SDX_IMPORT_BUILD", p("build"), `service "${name}" is built from source and has no image; the import uses "${image}", which no registry holds yet`,
        `Build and push it (docker build -t <registry>/${image}:<tag> <context> && docker push …), then set services.${sdxName}.image in sdx.yaml.`);
    }
  }
  if (!image) {
    r.error("SDX_IMPORT_NO_IMAGE", p(), `service "${name}" has neither image nor build`, "Give it an image.");
    r.dropped(p(), "no image to deploy");
    return undefined;
  }

  const out: Record<string, unknown> = { image: image === str(svc.image) ? keep(ctx, p("image"), image) : image };
  const command = words(ctx, svc.entrypoint, p("entrypoint"));
  const args = words(ctx, svc.command, p("command"));
  if (command) out.command = command;
  if (args) out.args = args;

  const { env, secrets } = importEnvironment(ctx, name, svc, consumedEnvPaths);
  importSecretMounts(ctx, name, svc, secrets);

  const files: Obj[] = [];
  importConfigMounts(ctx, name, svc, files, secrets);
  if (Object.keys(env).length) out.env = env;
  if (Object.keys(secrets).length) out.secrets = secrets;
  const volumes: Obj[] = [];
  importVolumes(ctx, name, svc, volumes, files);
  if (files.length) out.files = files;

  const ports = importPorts(ctx, name, svc);
  if (ports.length) out.ports = ports;

  const health = importHealthcheck(ctx, name, svc.healthcheck);
  if (health) out.health = health;

  const deploy = isObj(svc.deploy) ? svc.deploy : {};
  const resources = importResources(ctx, name, svc, deploy);
  if (resources) out.resources = resources;

  const replicas = importReplicas(ctx, name, svc, deploy);
  if (replicas !== undefined) out.replicas = replicas;
  if (volumes.length) out.volumes = volumes;

  const placement = importPlacement(ctx, name, svc, deploy);
  if (placement) out.placement = placement;
  const rollout = importRollout(ctx, name, deploy);
  if (rollout) out.rollout = rollout;

  const labels = importLabels(ctx, name, svc, deploy);
  if (labels) out.labels = labels;
  reportOtherDeployKeys(ctx, name, deploy);

  const handled = new Set(["image", "build", "entrypoint", "command", "environment", "env_file", "secrets", "configs", "volumes", "tmpfs", "ports", "expose",
    "healthcheck", "deploy", "scale", "cpus", "mem_limit", "mem_reservation", "platform", "labels", "profiles", "depends_on", "networks"]);
  for (const key of Object.keys(svc)) {
    if (handled.has(key)) continue;
    if (key.startsWith("x-")) r.ignored(p(key), "extension field");
    else if (SERVICE_KEYS[key]) {
      const [level, reason] = SERVICE_KEYS[key];
      if (key === "restart" && (svc.restart === "always" || svc.restart === "unless-stopped")) r.translated(p(key), reason);
      else r.note(level, p(key), key === "restart" ? `${reason}, not "${String(svc.restart)}"` : reason);
    } else r.dropped(p(key), `not part of the sdx model; ${OVERRIDE_HINT}`);
  }
  if (svc.depends_on !== undefined) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on.map(String) : isObj(svc.depends_on) ? Object.keys(svc.depends_on) : [];
    const healthy = isObj(svc.depends_on) && Object.values(svc.depends_on).some((d) => isObj(d) && d.condition === "service_healthy");
    r.dropped(p("depends_on"), `sdx starts services independently and not every backend can order start-up, so "${name}" must retry until ${deps.join(", ") || "its dependencies"} ${deps.length > 1 ? "are" : "is"} reachable${healthy ? " (condition: service_healthy is not enforced; the dependency's own health check still gates its traffic)" : ""}`);
  }
  if (svc.networks !== undefined) {
    const nets = isObj(svc.networks) ? Object.entries(svc.networks).filter((e): e is [string, Obj] => isObj(e[1])) : [];
    const aliases = nets.some(([, n]) => Array.isArray(n.aliases) && n.aliases.length > 0);
    r.ignored(p("networks"), `sdx gives each app one network on which services reach each other by service name${aliases ? "; network aliases are not kept, so use the service name as the host name" : ""}`);
    // A fixed address is something a client may depend on, so it is dropped, not ignored with the network.
    for (const [net, n] of nets) {
      for (const k of ["ipv4_address", "ipv6_address", "link_local_ips"]) {
        if (n[k] !== undefined) r.dropped(p("networks", net, k), `sdx does not fix container addresses (${k === "link_local_ips" ? "link-local IPs" : `${String(n[k])}`}); backends assign them, so clients must use the service name "${sdxName}" instead`);
      }
    }
  }
  return guardUrlPasswords(out, {
    variable: (password) => credentialVariable(ctx, name, "URL_PASSWORD", password),
    secret: (password) => ctx.secretValues.add(password),
    report: (field, variable) => {
      const where = formatPath(["services", name]);
      ctx.r.approximated(where, `${field} holds a password in a URL: sdx.yaml reads it from \${${variable}} instead, so set ${variable} to the value`);
      ctx.r.warning("SDX_IMPORT_CREDENTIAL", where, `a URL in ${field} holds a password; sdx.yaml reads it from $${variable} at deploy time instead`,
        `Set ${variable} before deploying the written sdx.yaml, and keep the value out of version control.`);
    },
  }) as Record<string, unknown>;
}

/** `command` / `entrypoint` as a list of words. */
function words(ctx: Ctx, v: unknown, path: string): (string | Split)[] | undefined {
  if (v === undefined || v === null) return undefined;
  let list: (string | Split)[] | undefined;
  if (Array.isArray(v)) list = v.map((x, i) => keep(ctx, `${path}[${i}]`, str(x) ?? ""));
  else if (typeof v === "string") {
    const split = splitShellWords(v);
    if (!split) {
      ctx.r.error("SDX_IMPORT_COMMAND", path, `unbalanced quotes in ${JSON.stringify(v)}`, "Close the quote, or write the command as a list.");
      return undefined;
    }
    list = keepWords(ctx, path, v, split);
  }
  if (!list) return undefined;
  if (list.length === 0) {
    ctx.r.dropped(path, "an empty value clears the image's default; sdx cannot express that, so the image's default stays");
    return undefined;
  }
  return list;
}

/** Words of a command string, each with its references kept when the template splits into the same words. */
function keepWords(ctx: Ctx, path: string, value: string, split: string[]): (string | Split)[] {
  const t = ctx.templates.get(path);
  if (!t || t.value !== value) return split;
  ctx.templated.add(path);
  for (const written of [t.full, t.decided]) {
    const ws = splitShellWords(written);
    if (!ws || ws.length !== split.length || ws.some((w, i) => !sdxReads(ctx, w, split[i]!))) continue;
    return split.map((word, i) => keepTemplate(ctx, path, word, { full: ws[i]!, decided: ws[i]!, variables: t.variables.filter((v) => ws[i]!.includes(`\${${v}`)) }));
  }
  // The variables' values change the word boundaries: the words are kept as read at import time (never a secret one).
  const w = keepTemplate(ctx, path, value, { full: "\u0000", decided: "\u0000", variables: t.variables });
  return w instanceof Split ? split.map((word) => new Split(word, "")) : split;
}

/** A `KEY=VALUE` list entry: the template of VALUE, when KEY is written literally. */
function afterKey(ctx: Ctx, path: string, key: string, value: string): ComposeTemplate | undefined {
  const t = ctx.templates.get(path);
  const prefix = `${key.replace(/\$/g, "$$$$")}=`;
  if (!t || t.value !== `${key}=${value}` || !t.full.startsWith(prefix) || !t.decided.startsWith(prefix)) return undefined;
  ctx.templated.add(path);
  return { full: t.full.slice(prefix.length), decided: t.decided.slice(prefix.length), variables: t.variables };
}

function importEnvironment(ctx: Ctx, name: string, svc: Obj, consumed: Set<string>): { env: Record<string, string | Split>; secrets: Record<string, Obj | Split> } {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, ...rest]);
  const env: Record<string, string | Split> = {};
  const secrets: Record<string, Obj | Split> = {};
  const secretNames = new Set<string>();

  /** A secret-looking variable: a secret read from it at deploy time, so nothing secret lands in sdx.yaml. */
  const fromVariable = (key: string, variable: string, path: string, droppedDefault: boolean): void => {
    const sName = uniqueLabel(toDnsLabel(key), secretNames);
    secrets[sName] = { fromEnv: variable, asEnv: key };
    delete env[key];
    ctx.referenced.add(variable);
    ctx.fromEnv.add(variable);
    r.approximated(path, `became secret "${sName}", read from $${variable} at deploy time (not at import time)${droppedDefault ? "; its default in the Compose file is not kept, so set the variable" : ""}; on Swarm, env secrets arrive as ${key}_FILE unless the service has a command`);
  };

  /** A credential written literally: sdx.yaml reads it from a variable instead; the document keeps it, as Compose would run it. */
  const fromLiteral = (key: string, value: string, path: string): void => {
    const variable = credentialVariable(ctx, name, key, value);
    const sName = uniqueLabel(toDnsLabel(key), secretNames);
    env[key] = new Split(value, undefined);
    secrets[sName] = new Split(undefined, { fromEnv: variable, asEnv: key });
    if (value.length >= 4) ctx.secretValues.add(value);
    r.approximated(path, `${key} holds a credential in plain text: sdx.yaml does not write it, it reads it at deploy time from $${variable} (secret "${sName}"), so set ${variable} to the value`);
    r.warning("SDX_IMPORT_CREDENTIAL", path, `${key} looks like a credential; sdx.yaml reads it from $${variable} at deploy time instead of holding the value`,
      `Set ${variable} before deploying the written sdx.yaml (sdx plan -f on the Compose file itself still uses the value written there), and keep the value out of version control.`);
  };

  /** A credential under a name a secret cannot take (`xpack.security.password`): a plain variable that sdx.yaml reads from another variable. */
  const fromDottedLiteral = (key: string, value: string, path: string): void => {
    const variable = credentialVariable(ctx, name, key, value);
    env[key] = new Split(value, `\${${variable}}`);
    ctx.referenced.add(variable);
    ctx.interpolated.add(variable);
    if (value.length >= 4) ctx.secretValues.add(value);
    r.approximated(path, `${key} holds a credential in plain text: sdx.yaml reads it from \${${variable}} when it is loaded, so set ${variable} to the value; it stays a plain variable, because secrets are exposed only under names of letters, digits and _`);
    r.warning("SDX_IMPORT_CREDENTIAL", path, `${key} looks like a credential; sdx.yaml reads it from $${variable} instead of holding the value`,
      `Set ${variable} before deploying the written sdx.yaml, and keep the value out of version control.`);
  };

  /** One variable for the container: its value, and how the source wrote it when it read variables. True when it became a secret read from a variable. */
  const put = (key: string, value: string, t: ComposeTemplate | undefined, path: string): boolean => {
    if (t && t.variables.length > 0) {
      const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-|:?\?)([^$}]*))?\}$/.exec(t.full);
      const variable = whole?.[1] ?? WHOLE_VAR_TEMPLATE.exec(t.decided)?.[1];
      if (variable !== undefined && SHELL_NAME.test(key) && (looksSecret(key) || noteSecretVariable(ctx, variable))) {
        fromVariable(key, variable, path, (whole?.[2] === "-" || whole?.[2] === ":-") && whole[3] !== "");
        return true;
      }
      const written = keepTemplate(ctx, path, value, t);
      env[key] = written;
      const secret = t.variables.filter((v) => noteSecretVariable(ctx, v));
      if (written instanceof Split && secret.length > 0) {
        r.approximated(path, `keeps ${secret.map((v) => `\${${v}}`).join(", ")} as a reference inside a longer value; sdx fills it in when it loads sdx.yaml, so ${key} is a plain environment variable that backends store unencrypted.${SHELL_NAME.test(key) ? ` To keep it secret, set ${key} in full at deploy time and use secrets: { ${toDnsLabel(key)}: { fromEnv: ${key}, asEnv: ${key} } }` : " Secrets are exposed only under names of letters, digits and _, so it cannot become one"}`);
      }
      return false;
    }
    if (value !== "" && (looksSecret(key) || looksCredential(value))) {
      if (SHELL_NAME.test(key)) fromLiteral(key, value, path);
      else fromDottedLiteral(key, value, path);
    }
    else env[key] = value;
    return false;
  };

  // env_file first: environment overrides it.
  const files = svc.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
  files.forEach((f, i) => {
    const path = p("env_file", ...(Array.isArray(svc.env_file) ? [i] : []));
    const file = isObj(f) ? str(f.path) : str(f);
    if (!file) return;
    const required = !(isObj(f) && f.required === false);
    const format = isObj(f) && f.format === "raw" ? "raw" : "compose";
    const text = readRelative(ctx, file);
    if (text instanceof SdxError) {
      // Refused, not missing: `required: false` does not excuse a file outside the app or /proc/self/environ.
      r.error(text.code, path, text.message, text.hint);
      return;
    }
    if (text === undefined) {
      if (required) ctx.r.error("SDX_IMPORT_FILE_UNREADABLE", path, `cannot read env file ${file}`, "The path is relative to the Compose file; mark it `required: false` if it is optional.");
      else r.ignored(path, `optional env file ${file} is missing`);
      return;
    }
    const parsed = parseEnvFile(text, ctx.env, file, format);
    r.diagnostics.push(...parsed.diagnostics.map((d) => ({ ...d, path })));
    r.translated(path, `${Object.keys(parsed.vars).length} variable(s) from ${file} copied into env`);
    for (const [k, v] of Object.entries(parsed.vars)) {
      if (!ENV_NAME.test(k)) {
        r.dropped(path, `"${k}" is not a valid environment variable name for sdx (${ENV_NAME_RULE})`);
        continue;
      }
      put(k, v, parsed.templates[k], path);
    }
  });

  const entries: { key: string; value: string | undefined; t: ComposeTemplate | undefined; path: string }[] = [];
  if (Array.isArray(svc.environment)) {
    svc.environment.forEach((e, i) => {
      const s = str(e) ?? "";
      const eq = s.indexOf("=");
      const path = p("environment", i);
      const key = eq < 0 ? s : s.slice(0, eq);
      const value = eq < 0 ? undefined : s.slice(eq + 1);
      entries.push({ key, value, t: value === undefined ? undefined : afterKey(ctx, path, key, value), path });
    });
  } else if (isObj(svc.environment)) {
    for (const [k, v] of Object.entries(svc.environment)) {
      const path = p("environment", k);
      const value = v === null || v === undefined ? undefined : str(v);
      const t = value === undefined ? undefined : ctx.templates.get(path);
      if (t && t.value === value) ctx.templated.add(path);
      entries.push({ key: k, value, t: t && t.value === value ? t : undefined, path });
    }
  }
  for (const e of entries) {
    if (!ENV_NAME.test(e.key)) {
      r.dropped(e.path, `"${e.key}" is not a valid environment variable name for sdx (${ENV_NAME_RULE})`);
      continue;
    }
    if (e.value === undefined && !SHELL_NAME.test(e.key)) {
      // `- discovery.type` alone: no shell can set it and no ${...} can name it, so only a value set now can carry over.
      const v = ctx.env[e.key];
      if (v === undefined) r.dropped(e.path, `no value and ${e.key} is not set at import time, so it is left out, as Compose does`);
      else {
        env[e.key] = v;
        r.approximated(e.path, `the value of ${e.key} at import time is written: \${...} cannot name a variable with a dot or dash`);
      }
      continue;
    }
    if (e.value === undefined) {
      // `- KEY` alone: Compose passes the variable through from the environment.
      if (looksSecret(e.key) || noteSecretVariable(ctx, e.key)) {
        fromVariable(e.key, e.key, e.path, false);
        consumed.add(e.path);
        continue;
      }
      const v = ctx.env[e.key];
      if (v === undefined) {
        r.dropped(e.path, `no value and ${e.key} is not set at import time, so it is left out, as Compose does`);
        continue;
      }
      put(e.key, v, { full: `\${${e.key}}`, decided: `\${${e.key}}`, variables: [e.key] }, e.path);
      if (!ctx.opts.inlineEnv) r.translated(e.path, `passed through from the environment: sdx.yaml reads \${${e.key}} when it is loaded`);
      continue;
    }
    // A variable that became a secret is read at deploy time: its import-time warnings do not apply.
    if (put(e.key, e.value, e.t, e.path)) consumed.add(e.path);
  }
  return { env, secrets };
}

/**
 * The environment variable sdx.yaml reads a credential literal from: the
 * container variable's own name, unless that name already stands for another
 * value (then prefixed with the service).
 */
function credentialVariable(ctx: Ctx, service: string, key: string, value: string): string {
  const taken = (n: string): boolean =>
    (ctx.generated.has(n) && ctx.generated.get(n) !== value) || (ctx.env[n] !== undefined && ctx.env[n] !== value) || ctx.referenced.has(n);
  // A shell name: the user sets it before deploying (`xpack.security.password` → xpack_security_password).
  const base = (/^[A-Za-z_]/.test(key) ? key : `_${key}`).replace(/[^A-Za-z0-9_]/g, "_");
  let name = base;
  if (taken(name)) name = `${service}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  for (let i = 2; taken(name); i++) name = `${service}_${key}_${i}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  ctx.generated.set(name, value);
  return name;
}

/**
 * Reads a file relative to the Compose file through `options.readFile`, the
 * only way the importer reads: undefined when it cannot, or the reader's
 * refusal (outside the app, not a regular file, too large, not UTF-8).
 */
function readRelative(ctx: Ctx, file: string): string | SdxError | undefined {
  if (!ctx.opts.readFile) return undefined;
  try {
    return ctx.opts.readFile(ctx.opts.baseDir === undefined || isAbsolute(file) ? file : join(ctx.opts.baseDir, file));
  } catch (e) {
    return e instanceof SdxError && REFUSED.has(e.code) ? e : undefined;
  }
}

/** A relative path as sdx.yaml writes it: normalised, without a leading `./`. */
function relPath(p: string): string {
  return isAbsolute(p) ? p : posix.normalize(p.replace(/\\/g, "/"));
}

function importSecretMounts(ctx: Ctx, name: string, svc: Obj, secrets: Record<string, Obj | Split>): void {
  const { r } = ctx;
  if (!Array.isArray(svc.secrets)) return;
  const taken = new Set(Object.keys(secrets));
  svc.secrets.forEach((s, i) => {
    const path = formatPath(["services", name, "secrets", i]);
    const source = isObj(s) ? str(s.source) : str(s);
    if (!source) return;
    const def = ctx.secretsDef[source];
    if (!isObj(def) && def !== null) {
      r.error("SDX_IMPORT_UNDEFINED", path, `secret "${source}" is not defined under the top-level secrets`, "Define it: secrets: { " + source + ": { file: ./path } }.");
      return;
    }
    ctx.used.secrets.add(source);
    const d = isObj(def) ? def : {};
    if (d.external === true || isObj(d.external)) {
      r.dropped(path, `"${source}" is an external secret, which sdx cannot read; add it in sdx.yaml with a backend-native reference (awsSecretsManager, awsSsmParameter or kubernetesSecret) and asFile: /run/secrets/${source}`);
      return;
    }
    const target = isObj(s) ? str(s.target) : undefined;
    const asFile = target === undefined ? `/run/secrets/${source}` : target.startsWith("/") ? target : `/run/secrets/${target}`;
    let ref: Obj;
    if (typeof d.file === "string") ref = { fromFile: relPath(d.file) };
    else if (typeof d.environment === "string") {
      ref = { fromEnv: d.environment };
      ctx.fromEnv.add(d.environment);
    }
    else {
      r.dropped(path, `secret "${source}" has no file or environment source`);
      return;
    }
    const sName = uniqueLabel(toDnsLabel(source), taken);
    secrets[sName] = { ...ref, asFile };
    if (sName !== source) r.translated(path, `secret "${source}" is named "${sName}" in sdx (DNS-1123 label), still mounted at ${asFile}`);
    if (isObj(s)) {
      if (s.uid !== undefined || s.gid !== undefined) r.dropped(formatPath(["services", name, "secrets", i, s.uid !== undefined ? "uid" : "gid"]), "sdx mounts secrets owned by root (uid/gid 0)");
      const mode = modeOf(s.mode);
      if (s.mode !== undefined && mode !== 0o444) r.dropped(formatPath(["services", name, "secrets", i, "mode"]), "sdx mounts secrets world-readable (0444)");
    }
  });
}

function modeOf(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^(0o?)?[0-7]{3,4}$/.test(v)) return parseInt(v.replace(/^0o/, ""), 8);
  return undefined;
}

function importConfigMounts(ctx: Ctx, name: string, svc: Obj, files: Obj[], secrets: Record<string, Obj | Split>): void {
  const { r } = ctx;
  if (!Array.isArray(svc.configs)) return;
  svc.configs.forEach((c, i) => {
    const path = formatPath(["services", name, "configs", i]);
    const source = isObj(c) ? str(c.source) : str(c);
    if (!source) return;
    const def = ctx.configsDef[source];
    if (!isObj(def)) {
      r.error("SDX_IMPORT_UNDEFINED", path, `config "${source}" is not defined under the top-level configs`, "Define it: configs: { " + source + ": { file: ./path } }.");
      return;
    }
    ctx.used.configs.add(source);
    if (def.external === true || isObj(def.external)) {
      r.dropped(path, `"${source}" is an external config, which sdx cannot read; copy its content into a file next to sdx.yaml and add it under files`);
      return;
    }
    const target = isObj(c) ? str(c.target) : undefined;
    const filePath = target === undefined ? `/${source}` : target.startsWith("/") ? target : `/${target}`;
    const file: Obj = { path: filePath };
    if (typeof def.file === "string") file.fromFile = relPath(def.file);
    else if (typeof def.content === "string") file.content = keep(ctx, formatPath(["configs", source, "content"]), def.content);
    else if (typeof def.environment === "string") {
      // sdx files hold literal content, and a variable's value must not be written into sdx.yaml: a secret file reads it at deploy time.
      const variable = def.environment;
      const sName = uniqueLabel(toDnsLabel(source), new Set(Object.keys(secrets)));
      secrets[sName] = { fromEnv: variable, asFile: filePath };
      ctx.referenced.add(variable);
      ctx.fromEnv.add(variable);
      noteSecretVariable(ctx, variable);
      r.approximated(path, `config "${source}" from $${variable} became secret "${sName}" mounted at ${filePath}, read from $${variable} at deploy time (sdx.yaml does not hold its content)`);
      if (ctx.env[variable] === undefined) {
        r.warning("SDX_ENV_UNSET", formatPath(["configs", source, "environment"]), `config "${source}" reads ${variable}, which is not set now`, `Set ${variable} before deploying.`);
      }
      if (isObj(c) && (c.mode !== undefined || c.uid !== undefined || c.gid !== undefined)) r.dropped(formatPath(["services", name, "configs", i]), "sdx mounts secret files read-only, owned by root (uid/gid 0), mode 0444");
      return;
    } else {
      r.dropped(path, `config "${source}" has no file, content or environment source`);
      return;
    }
    if (isObj(c)) {
      const mode = modeOf(c.mode);
      if (mode !== undefined) file.mode = `0${mode.toString(8)}`;
      if (c.uid !== undefined || c.gid !== undefined) r.dropped(formatPath(["services", name, "configs", i, c.uid !== undefined ? "uid" : "gid"]), "sdx mounts config files owned by root (uid/gid 0)");
    }
    files.push(file);
  });
}

function importVolumes(ctx: Ctx, name: string, svc: Obj, volumes: Obj[], files: Obj[]): void {
  const { r } = ctx;
  const taken = new Set<string>();
  const mounts: { path: string; v: Obj }[] = [];
  // Targets of bind mounts that were dropped, and anonymous volumes decided once every bind is known.
  const droppedBinds: { target: string; source: string }[] = [];
  const anonymous: { path: string; target: string; entry: Obj }[] = [];
  if (Array.isArray(svc.volumes)) {
    svc.volumes.forEach((v, i) => {
      const path = formatPath(["services", name, "volumes", i]);
      if (typeof v === "string") {
        const parsed = parseShortVolume(v);
        if (!parsed) r.dropped(path, `cannot read volume "${v}"`);
        else mounts.push({ path, v: parsed });
      } else if (isObj(v)) {
        mounts.push({ path, v });
      }
    });
  }
  for (const { path, v } of mounts) {
    const type = str(v.type) ?? "volume";
    const target = str(v.target);
    if (!target) {
      r.dropped(path, "no target path");
      continue;
    }
    const readOnly = v.read_only === true || v.read_only === "true";
    for (const k of Object.keys(v)) {
      if (k.startsWith("x-")) r.ignored(`${path}.${k}`, "extension field");
      else if (k === "consistency") r.ignored(`${path}.consistency`, "a Docker Desktop file-sharing hint");
      else if (!["type", "source", "target", "read_only", "bind", "volume", "tmpfs", "image", "create_host_path", "selinux"].includes(k)) r.dropped(`${path}.${k}`, "unknown volume field");
    }
    switch (type) {
      case "volume": {
        const source = str(v.source);
        if (isObj(v.volume)) {
          if (v.volume.subpath !== undefined) r.dropped(`${path}.volume.subpath`, "sdx mounts the whole volume");
          if (v.volume.nocopy !== undefined) r.dropped(`${path}.volume.nocopy`, "sdx keeps each backend's default for a new volume's content");
        }
        if (!source) {
          const entry: Obj = { name: uniqueLabel(toDnsLabel(target), taken), path: target, kind: "ephemeral", ...(readOnly ? { readOnly } : {}) };
          volumes.push(entry);
          anonymous.push({ path, target, entry });
          break;
        }
        if (!(source in ctx.volumesDef)) {
          r.error("SDX_IMPORT_UNDEFINED", path, `volume "${source}" is not defined under the top-level volumes`, `Define it: volumes: { ${source}: {} }.`);
          break;
        }
        const users = ctx.used.volumes.get(source) ?? [];
        users.push(name);
        ctx.used.volumes.set(source, users);
        const vName = uniqueLabel(toDnsLabel(source), taken);
        volumes.push({ name: vName, path: target, kind: "persistent", ...(readOnly ? { readOnly } : {}), dockerName: dockerVolumeName(ctx, source) });
        if (vName !== source) r.translated(path, `volume "${source}" is named "${vName}" in sdx (DNS-1123 label)`);
        break;
      }
      case "tmpfs": {
        const vName = uniqueLabel(toDnsLabel(target), taken);
        const size = isObj(v.tmpfs) ? parseComposeBytes(v.tmpfs.size) : undefined;
        volumes.push({ name: vName, path: target, kind: "ephemeral", ...(size ? { size: bytesToSdxMemory(size).value } : {}), ...(readOnly ? { readOnly } : {}) });
        if (isObj(v.tmpfs) && v.tmpfs.mode !== undefined) r.dropped(`${path}.tmpfs.mode`, "sdx keeps the backend's default tmpfs mode");
        if (size !== undefined && !bytesToSdxMemory(size).exact) r.approximated(`${path}.tmpfs.size`, `rounded up to ${bytesToSdxMemory(size).value}`);
        break;
      }
      case "bind": {
        const source = str(v.source) ?? "";
        for (const k of ["bind", "create_host_path", "selinux"]) if (v[k] !== undefined) r.dropped(`${path}.${k}`, "bind mount options have no sdx equivalent");
        if (/docker\.sock$/.test(source)) {
          r.dropped(path, "mounts the Docker API socket, which sdx does not expose to services");
          droppedBinds.push({ target, source });
          break;
        }
        const relative = source.startsWith(".") || (!isAbsolute(source) && !source.startsWith("~"));
        const content = relative ? readRelative(ctx, source) : undefined;
        const hostDisk = "sdx does not mount the host's disk. Use a persistent volume for data, files for configuration, or bake the content into the image";
        if (content instanceof SdxError) {
          droppedBinds.push({ target, source });
          if (content.code === "SDX_FILE_TOO_LARGE") {
            // A file Compose would mount must not vanish from the container with only a note.
            r.error(content.code, path, `bind mount of ${source}: ${content.message}`, "A file this large cannot be a config file on any backend: bake it into the image, or keep it on a persistent volume.");
            r.dropped(path, `bind mount of ${source}: too large for a config file`);
          } else if (content.code === "SDX_PATH_OUTSIDE_APP") {
            // A project file would be copied into the cluster: outside the app directory, that needs the explicit opt-out.
            r.error(content.code, path, content.message, content.hint);
            r.dropped(path, `bind mount of ${source}, which is outside the Compose file's directory: not read`);
          } else {
            r.dropped(path, `bind mount of ${source}: ${content.code === "SDX_FILE_NOT_REGULAR" ? "not a regular file (a directory?)" : content.message}; ${hostDisk}`);
          }
        } else if (content !== undefined && !content.includes("\uFFFD")) {
          files.push({ path: target, fromFile: relPath(source) });
          r.approximated(path, `bind mount of the file ${source} became a config file: a read-only copy made at deploy time, so later edits on the host do not reach the container`);
        } else {
          droppedBinds.push({ target, source });
          r.dropped(path, `bind mount of ${relative ? "the directory " : "the host path "}${source}: ${hostDisk}`);
          // Host paths are never read or shipped; still said, so the user knows the container loses them.
          if (!relative && ctx.opts.baseDir !== undefined && (source.startsWith("~") || relativePath(ctx.opts.baseDir, source).startsWith(".."))) {
            r.warning("SDX_PATH_OUTSIDE_APP", path, `bind mount source ${source} is outside the Compose file's directory; it is not read or shipped, and the container will not see it`,
              "Bake the content into the image, or move it next to the Compose file and mount it from there (a file becomes a config file).");
          }
        }
        break;
      }
      default:
        r.dropped(path, `${type} mounts have no sdx equivalent`);
    }
  }
  // An anonymous volume inside a dropped bind mount (`.:/app` + `/app/node_modules`) only kept the image's
  // content visible under the host directory; without the bind that content is there already, and an
  // empty ephemeral volume would hide it.
  const hidden = new Set<Obj>();
  for (const a of anonymous) {
    const bind = droppedBinds.find((b) => a.target.startsWith(`${b.target.replace(/\/+$/, "")}/`));
    if (bind) {
      hidden.add(a.entry);
      r.dropped(a.path, `anonymous volume inside the dropped bind mount of ${bind.source} at ${bind.target}: in Compose it keeps the image's ${a.target} visible under the host directory; without the bind mount the image's content is there already, and an empty volume would hide it`);
      r.warning("SDX_IMPORT_VOLUME_DROPPED", a.path, `anonymous volume ${a.target} of service "${name}" is left out: it lies inside the dropped bind mount ${bind.source}:${bind.target}, so the container sees the image's ${a.target}`,
        `If the service must write to ${a.target} at run time, add an ephemeral volume there in sdx.yaml (it starts empty).`);
    } else {
      r.approximated(a.path, `anonymous volume became ephemeral volume "${String(a.entry.name)}": its data lives and dies with the instance`);
    }
  }
  if (hidden.size > 0) volumes.splice(0, volumes.length, ...volumes.filter((v) => !hidden.has(v)));
  // The `tmpfs` service key.
  const tmpfs = svc.tmpfs === undefined ? [] : Array.isArray(svc.tmpfs) ? svc.tmpfs : [svc.tmpfs];
  tmpfs.forEach((t, i) => {
    const path = formatPath(["services", name, "tmpfs", ...(Array.isArray(svc.tmpfs) ? [i] : [])]);
    const [target, opts] = (str(t) ?? "").split(/:(.*)/s);
    if (!target) return;
    let size: number | undefined;
    for (const o of (opts ?? "").split(",").filter((x) => x !== "")) {
      const [k, val] = o.split("=");
      if (k === "size") size = parseComposeBytes(val);
      else r.dropped(path, `tmpfs option ${o} has no sdx equivalent`);
    }
    const vName = uniqueLabel(toDnsLabel(target), taken);
    volumes.push({ name: vName, path: target, kind: "ephemeral", ...(size ? { size: bytesToSdxMemory(size).value } : {}) });
  });
}

/**
 * The Docker volume Compose mounts for a top-level volume: its `name`, an external
 * volume's own name, else `<project>_<volume>`, as `docker compose` and `docker
 * stack deploy` (stack = app name) create it. sdx.yaml keeps it as `dockerName`
 * so that Swarm mounts the same volume and a migrated app finds its data.
 */
function dockerVolumeName(ctx: Ctx, source: string): string {
  const def = ctx.volumesDef[source];
  if (isObj(def)) {
    if (typeof def.name === "string" && def.name !== "") return def.name;
    if (isObj(def.external) && typeof def.external.name === "string") return def.external.name;
    if (def.external === true || isObj(def.external)) return source;
  }
  return `${ctx.project}_${source}`;
}

/** Short volume syntax `[SOURCE:]TARGET[:MODE]` as a long-syntax object. */
function parseShortVolume(s: string): Obj | undefined {
  const parts = s.split(":");
  if (parts.length === 1) return { type: "volume", target: parts[0] };
  const [source, target, mode] = parts as [string, string, string | undefined];
  if (!target) return undefined;
  const opts = (mode ?? "").split(",");
  const bind = source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
  return { type: bind ? "bind" : "volume", source, target, ...(opts.includes("ro") ? { read_only: true } : {}) };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function importPorts(ctx: Ctx, name: string, svc: Obj): unknown[] {
  const { r } = ctx;
  const out: Obj[] = [];
  const seen = new Map<string, string>();
  const add = (path: string, port: number, o: { protocol: string; public: boolean; name?: string; appProtocol?: string }): void => {
    const key = `${port}/${o.protocol}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      // Compose may publish one container port twice; sdx declares it once.
      const existing = out.find((x) => x.port === port && (x.protocol ?? "tcp") === o.protocol);
      if (existing && o.public && existing.public !== true) existing.public = true;
      r.approximated(path, `container port ${key} is already declared by ${prev}; sdx declares it once`);
      return;
    }
    seen.set(key, path);
    out.push({ port, ...(o.name ? { name: o.name } : {}), ...(o.protocol === "udp" ? { protocol: "udp" } : {}), ...(o.appProtocol && o.appProtocol !== "tcp" ? { appProtocol: o.appProtocol } : {}), ...(o.public ? { public: true } : {}) });
  };

  const list = Array.isArray(svc.ports) ? svc.ports : [];
  list.forEach((entry, i) => {
    const path = formatPath(["services", name, "ports", i]);
    if (isObj(entry)) {
      importLongPort(ctx, path, entry, add);
      return;
    }
    const s = str(entry);
    const parsed = s === undefined ? undefined : parseShortPort(s);
    if (!parsed) {
      r.dropped(path, `cannot read port ${JSON.stringify(entry)}`);
      return;
    }
    if (parsed.protocol !== "tcp" && parsed.protocol !== "udp") {
      r.dropped(path, `protocol ${parsed.protocol} is not supported by sdx (tcp, udp)`);
      return;
    }
    const containers = parsed.container;
    if (containers.length > 1) r.approximated(path, `port range ${s} became ${containers.length} ports`);
    const loopback = parsed.ip !== undefined && LOOPBACK.test(parsed.ip);
    if (loopback) {
      r.approximated(path, `bound to ${parsed.ip} only, so only the host could reach it; sdx has no host-local publishing, so the port is internal (public: false)`);
    } else if (parsed.ip !== undefined && parsed.ip !== "0.0.0.0" && parsed.ip !== "::") {
      r.approximated(path, `bound to host IP ${parsed.ip}; sdx publishes on every interface`);
    }
    if (parsed.host === undefined) {
      if (!loopback) r.approximated(path, `Compose publishes it on a host port the engine picks; sdx publishes the container port ${containers.join(", ")}`);
    } else if (parsed.host.length !== containers.length || parsed.host.some((h, k) => h !== containers[k])) {
      if (!loopback) r.approximated(path, `published on host port ${parsed.hostText} in Compose; sdx publishes the container port ${containers.join(", ")} (Swarm ingress, Kubernetes load balancer, ECS target group), so clients must use that port`);
    }
    // The short syntax publishes through the routing mesh (ingress mode).
    if (!loopback) ctx.publishModes.push({ mode: "ingress", path });
    for (const c of containers) add(path, c, { protocol: parsed.protocol, public: !loopback });
  });

  const expose = Array.isArray(svc.expose) ? svc.expose : [];
  expose.forEach((e, i) => {
    const path = formatPath(["services", name, "expose", i]);
    const m = /^(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(str(e) ?? "");
    if (!m) {
      r.dropped(path, `cannot read exposed port ${JSON.stringify(e)}`);
      return;
    }
    const protocol = (m[3] ?? "tcp").toLowerCase();
    if (protocol !== "tcp" && protocol !== "udp") {
      r.dropped(path, `protocol ${protocol} is not supported by sdx (tcp, udp)`);
      return;
    }
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to - from > 100) {
      r.dropped(path, `range ${from}-${to} is too large to declare port by port`);
      return;
    }
    if (to > from) r.approximated(path, `port range became ${to - from + 1} ports`);
    for (let port = from; port <= to; port++) add(path, port, { protocol, public: false });
  });
  return out.map((o) => (Object.keys(o).length === 1 ? o.port : o));
}

function importLongPort(ctx: Ctx, path: string, e: Obj, add: (path: string, port: number, o: { protocol: string; public: boolean; name?: string; appProtocol?: string }) => void): void {
  const { r } = ctx;
  const target = int(e.target);
  if (target === undefined || target < 1 || target > 65535) {
    r.dropped(path, `target ${JSON.stringify(e.target)} is not a port number`);
    return;
  }
  const protocol = (str(e.protocol) ?? "tcp").toLowerCase();
  if (protocol !== "tcp" && protocol !== "udp") {
    r.dropped(path, `protocol ${protocol} is not supported by sdx (tcp, udp)`);
    return;
  }
  const hostIp = str(e.host_ip);
  const loopback = hostIp !== undefined && LOOPBACK.test(hostIp);
  const published = str(e.published);
  if (loopback) r.approximated(`${path}.host_ip`, `bound to ${hostIp} only, so only the host could reach it; sdx has no host-local publishing, so the port is internal (public: false)`);
  else if (hostIp !== undefined && hostIp !== "0.0.0.0" && hostIp !== "::") r.approximated(`${path}.host_ip`, `bound to host IP ${hostIp}; sdx publishes on every interface`);
  if (!loopback) {
    if (published === undefined) r.approximated(path, `Compose publishes it on a host port the engine picks; sdx publishes the container port ${target}`);
    else if (published !== String(target)) {
      r.approximated(`${path}.published`, `published on host port ${published} in Compose; sdx publishes the container port ${target} (Swarm ingress, Kubernetes load balancer, ECS target group), so clients must use that port`);
    }
    const mode = e.mode === "host" ? "host" : "ingress";
    ctx.publishModes.push({ mode, path: `${path}.mode` });
  }
  let appProtocol: string | undefined;
  const ap = str(e.app_protocol)?.toLowerCase();
  if (ap === "http" || ap === "grpc" || ap === "tcp") appProtocol = ap;
  else if (ap === "https" || ap === "h2c" || ap === "http2") {
    appProtocol = ap === "https" ? "tcp" : "http";
    r.approximated(`${path}.app_protocol`, `sdx knows http, grpc and tcp; ${ap} is declared as ${appProtocol}`);
  } else if (ap !== undefined) r.dropped(`${path}.app_protocol`, `sdx knows http, grpc and tcp, not ${ap}`);
  let portName = str(e.name);
  if (portName !== undefined && !isDnsLabel(portName)) {
    const n = toDnsLabel(portName, 15);
    r.approximated(`${path}.name`, `port name "${portName}" became "${n}" (DNS-1123 label)`);
    portName = n;
  }
  for (const k of Object.keys(e)) {
    if (k.startsWith("x-")) r.ignored(`${path}.${k}`, "extension field");
    else if (!["target", "published", "host_ip", "protocol", "app_protocol", "mode", "name"].includes(k)) r.dropped(`${path}.${k}`, "unknown port field");
  }
  add(path, target, { protocol, public: !loopback, ...(portName ? { name: portName } : {}), ...(appProtocol ? { appProtocol } : {}) });
}

/** Short port syntax `[[IP:]HOST:]CONTAINER[/PROTOCOL]`, ranges expanded. */
function parseShortPort(s: string): { ip?: string; host?: number[]; hostText?: string; container: number[]; protocol: string } | undefined {
  const slash = s.lastIndexOf("/");
  const protocol = slash >= 0 ? s.slice(slash + 1).toLowerCase() : "tcp";
  let spec = slash >= 0 ? s.slice(0, slash) : s;
  let ip: string | undefined;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (bracket) {
    ip = bracket[1];
    spec = bracket[2]!;
  }
  const parts = spec.split(":");
  const containerText = parts.pop()!;
  const hostText = parts.length > 0 ? parts.pop() : undefined;
  if (parts.length > 0) ip = parts.join(":");
  const range = (t: string): number[] | undefined => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(t.trim());
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b > 65535 || b < a || b - a > 100) return undefined;
    return Array.from({ length: b - a + 1 }, (_, k) => a + k);
  };
  const container = range(containerText);
  if (!container) return undefined;
  const host = hostText === undefined || hostText === "" ? undefined : range(hostText);
  if (hostText !== undefined && hostText !== "" && !host) return undefined;
  return { ...(ip !== undefined && ip !== "" ? { ip } : {}), ...(host ? { host, hostText } : {}), container, protocol };
}

function importHealthcheck(ctx: Ctx, name: string, hc: unknown): Obj | undefined {
  const { r } = ctx;
  if (!isObj(hc)) return undefined;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, "healthcheck", ...rest]);
  const disabled = "sdx cannot switch off a health check built into the image, so on Swarm the image's HEALTHCHECK (if any) still runs";
  if (hc.disable === true) {
    r.approximated(p("disable"), `disables the health check; ${disabled}`);
    return undefined;
  }
  let command: (string | Split)[] | undefined;
  const test = hc.test;
  if (typeof test === "string") command = ["/bin/sh", "-c", keep(ctx, p("test"), test)];
  else if (Array.isArray(test) && test.length > 0) {
    const [kind, ...rest] = test.map((x) => str(x) ?? "");
    const kept = rest.map((x, i) => keep(ctx, p("test", i + 1), x));
    if (kind === "NONE") {
      r.approximated(p("test"), `NONE disables the health check; ${disabled}`);
      return undefined;
    }
    if (kind === "CMD") command = kept;
    else if (kind === "CMD-SHELL") command = ["/bin/sh", "-c", kept.length === 1 ? kept[0]! : rest.join(" ")];
    else {
      r.dropped(p("test"), `a test list must start with CMD, CMD-SHELL or NONE, not ${JSON.stringify(kind)}`);
      return undefined;
    }
  }
  if (!command || command.length === 0) {
    r.dropped(p(), "no test: it only retimes the image's HEALTHCHECK, and sdx needs the command itself");
    return undefined;
  }
  const out: Obj = { exec: { command } };
  // Docker's defaults differ from sdx's (10s / 5s), so they are written out.
  const timing = (key: string, sdxKey: string, def: string | undefined, min: number): void => {
    const v = hc[key];
    if (v === undefined) {
      if (def !== undefined) out[sdxKey] = def;
      return;
    }
    const secs = parseComposeDuration(v);
    if (secs === undefined) {
      r.error("SDX_INVALID_DURATION", p(key), `cannot read duration ${JSON.stringify(v)}`, 'Write it like "30s" or "1m30s".');
      if (def !== undefined) out[sdxKey] = def;
      return;
    }
    const d = toSdxDuration(v, secs, min);
    if (secs === 0 && min === 0) return;
    out[sdxKey] = d.value;
    if (!d.exact) r.approximated(p(key), `sdx counts whole seconds: ${String(v)} became ${d.value}`);
  };
  timing("interval", "interval", "30s", 1);
  // Docker's default timeout (30s) is longer than a shorter interval; sdx warns about that, so it is capped.
  const intervalSecs = parseComposeDuration(hc.interval);
  if (hc.timeout === undefined && intervalSecs !== undefined && intervalSecs < 30 && typeof out.interval === "string") {
    out.timeout = out.interval;
    r.approximated(p("interval"), `no timeout: Docker's default (30s) is longer than the interval, so the timeout is the interval, ${String(out.interval)}`);
  } else timing("timeout", "timeout", "30s", 1);
  const retries = int(hc.retries);
  if (retries !== undefined && retries > 0) out.retries = retries;
  timing("start_period", "startPeriod", undefined, 0);
  if (hc.start_interval !== undefined) r.dropped(p("start_interval"), "sdx probes at one interval, also during the start period");
  for (const k of Object.keys(hc)) {
    if (k.startsWith("x-")) r.ignored(p(k), "extension field");
    else if (!["test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"].includes(k)) r.dropped(p(k), "unknown healthcheck field");
  }
  return out;
}

function importResources(ctx: Ctx, name: string, svc: Obj, deploy: Obj): Obj | undefined {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, ...rest]);
  const res = isObj(deploy.resources) ? deploy.resources : undefined;
  const reservations = res && isObj(res.reservations) ? res.reservations : {};
  const limitsIn = res && isObj(res.limits) ? res.limits : {};
  const out: Obj = {};
  const limits: Obj = {};
  const cpu = (v: unknown, path: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = parseComposeCpus(v);
    if (n === undefined) r.error("SDX_INVALID_CPU", path, `cannot read cpus ${JSON.stringify(v)}`, 'Write a number of cores, e.g. "0.5".');
    return n;
  };
  const mem = (v: unknown, path: string): string | undefined => {
    if (v === undefined) return undefined;
    const bytes = parseComposeBytes(v);
    if (bytes === undefined || bytes === 0) {
      r.error("SDX_INVALID_MEMORY", path, `cannot read memory ${JSON.stringify(v)}`, 'Write a byte value, e.g. "512M" or "1G".');
      return undefined;
    }
    const m = bytesToSdxMemory(bytes);
    if (!m.exact) r.approximated(path, `sdx counts whole MiB: ${String(v)} became ${m.value}`);
    return m.value;
  };

  const rc = cpu(reservations.cpus, p("deploy", "resources", "reservations", "cpus"));
  const rm = mem(reservations.memory, p("deploy", "resources", "reservations", "memory"));
  let lc = cpu(limitsIn.cpus, p("deploy", "resources", "limits", "cpus"));
  let lm = mem(limitsIn.memory, p("deploy", "resources", "limits", "memory"));

  // Pre-Deploy resource keys, used when deploy.resources does not say.
  const legacy = (key: string, apply: () => void, covered: boolean): void => {
    if (svc[key] === undefined) return;
    if (covered) r.dropped(p(key), "deploy.resources already sets it");
    else apply();
  };
  let legacyReservation: string | undefined;
  legacy("cpus", () => { lc = cpu(svc.cpus, p("cpus")); }, lc !== undefined);
  legacy("mem_limit", () => { lm = mem(svc.mem_limit, p("mem_limit")); }, lm !== undefined);
  legacy("mem_reservation", () => { legacyReservation = mem(svc.mem_reservation, p("mem_reservation")); }, rm !== undefined);

  const memRequest = rm ?? legacyReservation;
  if (rc !== undefined) out.cpu = rc;
  if (memRequest !== undefined) out.memory = memRequest;
  if (lc !== undefined) limits.cpu = lc;
  if (lm !== undefined) limits.memory = lm;

  // sdx requests 250m / 256Mi unless told; a lower limit needs a request to match.
  const cpuLimitPath = limitsIn.cpus !== undefined ? p("deploy", "resources", "limits", "cpus") : p("cpus");
  const memLimitPath = limitsIn.memory !== undefined ? p("deploy", "resources", "limits", "memory") : p("mem_limit");
  if (lc !== undefined && rc === undefined) {
    if (lc < 0.25) out.cpu = lc;
    r.approximated(cpuLimitPath, lc < 0.25
      ? `no CPU reservation: Compose reserves nothing, sdx needs a request and sets it to the limit (${lc})`
      : "no CPU reservation: Compose reserves nothing, sdx requests its default 250m");
  }
  if (lm !== undefined && memRequest === undefined) {
    const limitMiB = parseComposeBytes(limitsIn.memory ?? svc.mem_limit)! / 2 ** 20;
    if (limitMiB < 256) out.memory = lm;
    r.approximated(memLimitPath, limitMiB < 256
      ? `no memory reservation: Compose reserves nothing, sdx needs a request and sets it to the limit (${lm})`
      : "no memory reservation: Compose reserves nothing, sdx requests its default 256Mi");
  }
  if (Object.keys(limits).length) out.limits = limits;

  if (res) {
    for (const [k, v] of Object.entries(res)) {
      if (k === "limits" || k === "reservations") {
        if (!isObj(v)) continue;
        for (const kk of Object.keys(v)) {
          if (kk === "cpus" || kk === "memory") continue;
          if (kk.startsWith("x-")) r.ignored(p("deploy", "resources", k, kk), "extension field");
          else r.dropped(p("deploy", "resources", k, kk), kk === "pids" ? "sdx has no PID limit" : kk === "devices" || kk === "generic_resources" ? "sdx has no device or GPU reservations yet" : "unknown resource");
        }
      } else if (k.startsWith("x-")) r.ignored(p("deploy", "resources", k), "extension field");
      else r.dropped(p("deploy", "resources", k), "unknown resources field");
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function importReplicas(ctx: Ctx, name: string, svc: Obj, deploy: Obj): number | undefined {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, ...rest]);
  let replicas = int(deploy.replicas);
  if (deploy.replicas !== undefined && replicas === undefined) r.error("SDX_WRONG_TYPE", p("deploy", "replicas"), `replicas must be a whole number, got ${JSON.stringify(deploy.replicas)}`);
  if (svc.scale !== undefined) {
    if (replicas !== undefined) r.dropped(p("scale"), "deploy.replicas already sets it");
    else replicas = int(svc.scale);
  }
  if (deploy.mode === "global") {
    r.approximated(p("deploy", "mode"), `sdx has no one-per-node mode; runs ${replicas ?? 1} replica${(replicas ?? 1) === 1 ? "" : "s"}, set replicas to the node count you want`);
  } else if (deploy.mode !== undefined && deploy.mode !== "replicated") {
    r.dropped(p("deploy", "mode"), `mode ${String(deploy.mode)} has no sdx equivalent; the service is replicated`);
  }
  return replicas;
}

/** Deploy keys without a field of their own. */
function reportOtherDeployKeys(ctx: Ctx, name: string, deploy: Obj): void {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, "deploy", ...rest]);
  for (const k of Object.keys(deploy)) {
    if (["mode", "replicas", "resources", "placement", "update_config", "rollback_config", "labels"].includes(k)) continue;
    if (k.startsWith("x-")) r.ignored(p(k), "extension field");
    else if (k === "restart_policy") importRestartPolicy(ctx, name, deploy.restart_policy);
    else if (k === "endpoint_mode") r.dropped(p(k), "sdx picks vip or dnsrr from the Swarm target's publishMode");
    else r.dropped(p(k), "not part of the sdx model");
  }
}

function importRestartPolicy(ctx: Ctx, name: string, rp: unknown): void {
  const p = (...rest: string[]): string => formatPath(["services", name, "deploy", "restart_policy", ...rest]);
  if (!isObj(rp)) return;
  for (const [k, v] of Object.entries(rp)) {
    if (k === "condition") {
      if (v === "any") ctx.r.translated(p(k), "sdx services always restart");
      else ctx.r.approximated(p(k), `sdx services always restart (condition: any), not only ${String(v)}; run one-off jobs with another tool`);
    } else if (k.startsWith("x-")) ctx.r.ignored(p(k), "extension field");
    else ctx.r.dropped(p(k), "sdx uses the backend's restart timing");
  }
}

const ARCH: Readonly<Record<string, "amd64" | "arm64">> = { x86_64: "amd64", amd64: "amd64", aarch64: "arm64", arm64: "arm64" };

function importPlacement(ctx: Ctx, name: string, svc: Obj, deploy: Obj): Obj | undefined {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["services", name, ...rest]);
  const out: Obj = {};
  const constraints: Record<string, string> = {};
  if (typeof svc.platform === "string") {
    const arch = ARCH[svc.platform.split("/")[1] ?? ""];
    if (svc.platform.startsWith("linux/") && arch) out.arch = arch;
    else r.dropped(p("platform"), `sdx runs linux/amd64 or linux/arm64, not ${svc.platform}`);
  }
  const pl = isObj(deploy.placement) ? deploy.placement : {};
  const list = Array.isArray(pl.constraints) ? pl.constraints : [];
  list.forEach((c, i) => {
    const path = p("deploy", "placement", "constraints", i);
    const m = /^\s*([\w.-]+)\s*(==|!=)\s*(.+?)\s*$/.exec(str(c) ?? "");
    if (!m) {
      r.dropped(path, `cannot read constraint ${JSON.stringify(c)}`);
      return;
    }
    const [, key, op, value] = m as unknown as [string, string, string, string];
    if (op === "==" && key.startsWith("node.labels.")) constraints[key.slice("node.labels.".length)] = value;
    else if (op === "==" && key === "node.platform.arch" && ARCH[value]) out.arch = ARCH[value];
    else if (op === "==" && key === "node.platform.os" && value === "linux") r.translated(path, "sdx runs Linux containers");
    else r.dropped(path, `sdx places by node label (node.labels.<key> == <value>) and architecture only; ${OVERRIDE_HINT}`);
  });
  if (Object.keys(constraints).length) out.constraints = constraints;
  for (const k of Object.keys(pl)) {
    if (k === "constraints") continue;
    if (k.startsWith("x-")) r.ignored(p("deploy", "placement", k), "extension field");
    else r.dropped(p("deploy", "placement", k), k === "preferences" ? "sdx spreads replicas by its own spot label" : k === "max_replicas_per_node" ? "sdx has no per-node replica cap" : "unknown placement field");
  }
  return Object.keys(out).length ? out : undefined;
}

function importRollout(ctx: Ctx, name: string, deploy: Obj): Obj | undefined {
  const { r } = ctx;
  const p = (...rest: string[]): string => formatPath(["services", name, "deploy", ...rest]);
  const out: Obj = {};
  const uc = isObj(deploy.update_config) ? deploy.update_config : undefined;
  if (uc) {
    // Only what is written maps; a missing companion takes Swarm's default (parallelism 1, stop-first).
    if (uc.parallelism !== undefined || uc.order !== undefined) {
      const parallelism = int(uc.parallelism) ?? 1;
      const startFirst = uc.order === "start-first";
      if (parallelism === 0) {
        if (startFirst) {
          // An explicit start-first is a rolling choice, kept even for one replica with a volume (with a warning).
          out.strategy = "rolling";
          out.maxSurge = "100%";
          out.maxUnavailable = 0;
        } else {
          out.strategy = "recreate";
          r.translated(p("update_config", "parallelism"), "0 with stop-first replaces every instance at once: strategy recreate");
        }
      } else if (startFirst) {
        out.strategy = "rolling";
        out.maxSurge = parallelism;
        out.maxUnavailable = 0;
      } else {
        out.maxSurge = 0;
        out.maxUnavailable = parallelism;
      }
    }
    for (const [k, v] of Object.entries(uc)) {
      const path = p("update_config", k);
      switch (k) {
        case "parallelism":
        case "order":
          break;
        case "failure_action":
          if (v === "rollback") out.autoRollback = true;
          else {
            out.autoRollback = false;
            if (v === "continue") r.approximated(path, "sdx either rolls back or stops; continue became autoRollback: false");
          }
          break;
        case "delay":
          if (parseComposeDuration(v) !== 0) r.dropped(path, "sdx does not wait between batches");
          break;
        case "monitor":
          r.dropped(path, "sdx derives how long it watches each new instance from the health check");
          break;
        case "max_failure_ratio":
          if (Number(v) !== 0) r.dropped(path, "sdx tolerates no failed instance during a rollout");
          break;
        default:
          if (k.startsWith("x-")) r.ignored(path, "extension field");
          else r.dropped(path, "unknown update_config field");
      }
    }
  }
  const rc = isObj(deploy.rollback_config) ? deploy.rollback_config : undefined;
  if (rc) {
    for (const k of Object.keys(rc)) {
      const path = p("rollback_config", k);
      if (k.startsWith("x-")) r.ignored(path, "extension field");
      else if (k === "parallelism" || k === "order") r.approximated(path, "sdx rolls back with the batch size and order of the update");
      else if (k === "failure_action") r.approximated(path, "sdx stops a failing rollback where it is (pause)");
      else r.dropped(path, "sdx has no separate rollback timing");
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function importLabels(ctx: Ctx, name: string, svc: Obj, deploy: Obj): Record<string, string | Split> | undefined {
  const { r } = ctx;
  const out: Record<string, string | Split> = {};
  const values: Record<string, string> = {};
  const read = (v: unknown, key: string, path: (string | number)[]): void => {
    const entries: [string, string, string, string | Split][] = [];
    if (Array.isArray(v)) {
      v.forEach((e, i) => {
        const s = str(e) ?? "";
        const eq = s.indexOf("=");
        const [k, val, p] = [eq < 0 ? s : s.slice(0, eq), eq < 0 ? "" : s.slice(eq + 1), formatPath([...path, i])];
        const t = afterKey(ctx, p, k, val);
        entries.push([k, val, p, t ? keepTemplate(ctx, p, val, t) : val]);
      });
    } else if (isObj(v)) {
      for (const [k, x] of Object.entries(v)) {
        const p = formatPath([...path, k]);
        entries.push([k, str(x) ?? "", p, keep(ctx, p, str(x) ?? "")]);
      }
    }
    for (const [k, val, p, written] of entries) {
      if (k.startsWith("com.docker.compose.")) {
        r.dropped(p, "labels with the com.docker.compose prefix are reserved");
        continue;
      }
      if (k in values && values[k] !== val) r.approximated(p, `${key} overrides the container label ${k}; sdx puts one set of labels on the service and its instances`);
      values[k] = val;
      out[k] = written;
    }
  };
  read(svc.labels, "labels", ["services", name, "labels"]);
  read(deploy.labels, "deploy.labels", ["services", name, "deploy", "labels"]);
  return Object.keys(out).length ? out : undefined;
}

/** Services others reach (depends_on, links, a host name in their env) that declare no port. */
function reportReachability(ctx: Ctx, services: Obj, names: Map<string, string>, out: Record<string, unknown>): void {
  const reached = new Map<string, Set<string>>();
  const mark = (target: string, by: string): void => {
    const s = reached.get(target) ?? new Set<string>();
    s.add(by);
    reached.set(target, s);
  };
  // One pattern per service, built once: building it per pair of services made a 1,000-service import take seconds.
  const patterns = new Map([...names.keys()].map((t) => [t, new RegExp(`(^|=|//|@)${t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(:\\d+|/|$)`)]));
  for (const [from] of names) {
    const svc = services[from];
    if (!isObj(svc)) continue;
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on.map(String) : isObj(svc.depends_on) ? Object.keys(svc.depends_on) : [];
    for (const d of deps) mark(d, from);
    if (Array.isArray(svc.links)) for (const l of svc.links) mark(String(l).split(":")[0]!, from);
    const values = Array.isArray(svc.environment) ? svc.environment.map((e) => String(e)) : isObj(svc.environment) ? Object.values(svc.environment).map((v) => String(v)) : [];
    if (values.length === 0) continue;
    for (const [target, re] of patterns) {
      if (target === from) continue;
      if (values.some((v) => v.includes(target) && re.test(v))) mark(target, from);
    }
  }
  for (const [target, by] of reached) {
    const sdxName = names.get(target);
    if (!sdxName) continue;
    const svc = out[sdxName] as Obj | undefined;
    if (!svc || Array.isArray(svc.ports)) continue;
    ctx.r.approximated(formatPath(["services", target, "ports"]),
      `none declared, but ${[...by].join(", ")} reach${by.size === 1 ? "es" : ""} this service. Compose opens every port on the app network; sdx only the declared ones (a Kubernetes Service, ECS service discovery), so add ports: [<port it listens on>]`);
  }
}

function reportDefinitions(ctx: Ctx, kind: "secrets" | "configs", defs: Obj, used: Set<string>): void {
  for (const [name, def] of Object.entries(defs)) {
    if (name.startsWith("x-")) {
      ctx.r.ignored(formatPath([kind, name]), "extension field");
      continue;
    }
    if (!used.has(name)) {
      ctx.r.ignored(formatPath([kind, name]), "not used by any imported service");
      continue;
    }
    if (!isObj(def)) continue;
    for (const k of Object.keys(def)) {
      const path = formatPath([kind, name, k]);
      if (["file", "environment", "content"].includes(k)) continue;
      if (k === "external") ctx.r.dropped(path, `sdx cannot use an existing ${kind === "secrets" ? "secret" : "config"}; see the services that mount it`);
      else if (k === "name") ctx.r.dropped(path, "sdx names backend objects itself (<app>-<service>-<name>-<content hash>)");
      else if (k.startsWith("x-")) ctx.r.ignored(path, "extension field");
      else ctx.r.dropped(path, "sdx keeps the backend's default driver and labels");
    }
  }
}

function reportVolumes(ctx: Ctx): void {
  for (const [name, def] of Object.entries(ctx.volumesDef)) {
    const path = formatPath(["volumes", name]);
    if (name.startsWith("x-")) {
      ctx.r.ignored(path, "extension field");
      continue;
    }
    const users = ctx.used.volumes.get(name) ?? [];
    if (users.length === 0) {
      ctx.r.ignored(path, "not used by any imported service");
      continue;
    }
    const dockerName = dockerVolumeName(ctx, name);
    if (new Set(users).size > 1) {
      ctx.r.approximated(path, `shared by ${[...new Set(users)].join(", ")}; on Swarm they mount the same Docker volume ${dockerName} where they run on the same node, as with docker stack deploy; on other backends each sdx service gets its own persistent volume, so they no longer see each other's data`);
    }
    const named = isObj(def) && (def.external !== undefined || def.name !== undefined);
    ctx.r.translated(path, `on Swarm, mounts the Docker volume ${dockerName} (dockerName)${named ? "" : `, the one docker stack deploy made for a stack named ${ctx.project}`}, so a migrated app keeps its data${named ? "" : " (change dockerName if the stack had another name)"}; other backends create their own volume`);
    if (!isObj(def)) continue;
    for (const k of Object.keys(def)) {
      const kp = formatPath(["volumes", name, k]);
      if (k === "name") continue;
      if (k === "external") ctx.r.approximated(kp, `Swarm mounts the existing volume ${dockerName} and sdx never removes it (on a node that lacks it, Docker creates it empty, where Compose would refuse); other backends create and own a new volume, without its data`);
      else if (k.startsWith("x-")) ctx.r.ignored(kp, "extension field");
      else ctx.r.dropped(kp, "sdx uses each backend's default volume driver (Swarm local volume, Kubernetes default StorageClass)");
    }
  }
}
