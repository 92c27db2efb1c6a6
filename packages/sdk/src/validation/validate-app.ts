import { isAbsolute, normalize } from "node:path";
import { LIMITS } from "../model/limits.js";
import { DEFAULT_BUILD_BASE, DEFAULT_RESOURCES } from "../model/app.js";
import type {
  App, BuildSpec, ImageRef, ConfigFile, HealthCheck, HealthProbe, Override, Placement, Port, PricingProfile, Resources, Rollout, Scale,
  SecretMount, SecretSource, Service, ServiceUsage, Target, Volume,
} from "../model/app.js";
import type { TargetKindSpec } from "../backend/backend.js";
import { appInputSchema, targetSchemaOf } from "../model/app-schema.js";
import { parseImageRef, isMutableImage } from "../model/image-ref.js";
import { parseCpu, parseDuration, parseMemory, parseSizeGiB, type Parsed } from "../model/units.js";
import { didYouMean } from "../util/did-you-mean.js";
import { isSdxError } from "../errors/sdx-error.js";
import { formatPath, hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostic.js";
import { zodIssuesToDiagnostics } from "./zod-diagnostics.js";
import { scanInput } from "./scan-input.js";

/** Options for {@link validateApp}. */
export interface ValidateAppOptions {
  /**
   * The target kinds that have a backend, by kind: each target is validated and
   * normalised by its kind's spec. The API passes its registry's
   * (`BackendRegistry.targetKinds()`); `builtinTargetKinds()` from
   * `@sdx/sdk/testing` loads the built-in ones.
   * @default none: every target is reported as `SDX_UNKNOWN_TARGET_KIND`
   */
  readonly targetKinds?: ReadonlyMap<string, TargetKindSpec>;
  /**
   * Reads a file referenced by `files[].fromFile`, relative to the app file. I/O is
   * injected to keep validation pure; an `SdxError` it throws (e.g. `SDX_PATH_OUTSIDE_APP`
   * from readContainedText) becomes a diagnostic with that code.
   */
  readonly readFile?: (path: string) => string;
}

/** Result of {@link validateApp}: the normalised app when there are no errors, and every diagnostic. */
export interface ValidateAppResult {
  readonly app?: App;
  readonly diagnostics: readonly Diagnostic[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A name a shell can export: secrets exposed as variables need one (Swarm exports them in `sh -c`). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Plain variables may also hold '.' and '-' (`discovery.type`): Kubernetes' rule; Docker and ECS take any name without '='. */
const PLAIN_ENV_NAME = /^[-._A-Za-z][-._A-Za-z0-9]*$/;
/** Docker's rule for volume names (its RestrictedNamePattern), with a sane length cap. */
const DOCKER_VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,254}$/;

/**
 * Checks an app document and normalises it. One pass gathers every problem:
 * structure (unknown keys with did-you-mean, wrong types, ranges) and meaning
 * (units, duplicates, inline secrets, name lengths). Never throws for bad input.
 */
export function validateApp(input: unknown, options: ValidateAppOptions = {}): ValidateAppResult {
  const diags: Diagnostic[] = [];
  const err = (code: string, path: string, message: string, hint?: string, suggestions?: string[]): void => {
    diags.push({ code, severity: "error", path, message, ...(hint ? { hint } : {}), ...(suggestions?.length ? { suggestions } : {}) });
  };
  const warn = (code: string, path: string, message: string, hint?: string): void => {
    diags.push({ code, severity: "warning", path, message, ...(hint ? { hint } : {}) });
  };

  if (input === undefined || input === null || (isObj(input) && Object.keys(input).length === 0)) {
    err("SDX_EMPTY", "", "the app file is empty", "Start from examples/hello/sdx.yaml: it needs at least `name` and one service under `services`.");
    return { diagnostics: diags };
  }
  if (!isObj(input)) {
    err("SDX_WRONG_TYPE", "", `expected a mapping at the top of the app file, got ${Array.isArray(input) ? "a list" : typeof input}`);
    return { diagnostics: diags };
  }

  const parsed = appInputSchema.safeParse(input);
  if (!parsed.success) diags.push(...zodIssuesToDiagnostics(parsed.error.issues, appInputSchema, input));
  // Reserved keys (which zod records drop silently) and NUL bytes, anywhere in the document.
  const scanned = scanInput(input);
  diags.push(...scanned);
  const reservedPaths = new Set(scanned.filter((d) => d.code === "SDX_RESERVED_KEY").map((d) => d.path));
  // Over a documented limit (model/limits.ts): stop before the per-service work those limits bound (reading files, units).
  if (diags.some((d) => d.code === "SDX_LIMIT_EXCEEDED")) return { diagnostics: sortDiagnostics(diags) };

  const targetKinds = options.targetKinds ?? new Map<string, TargetKindSpec>();
  const knownKinds = [...targetKinds.keys()];
  const kindList = knownKinds.length ? knownKinds.join(", ") : "none (no backend is registered)";
  const appName = typeof input.name === "string" ? input.name : "";

  // Services: unit parsing and cross-field rules, run on whatever is well-formed
  // so the user sees these together with the structural errors above.
  const services: Service[] = [];
  const rawServices = isObj(input.services) ? input.services : {};
  for (const [svcName, raw] of Object.entries(rawServices)) {
    if (!isObj(raw)) continue;
    const p = (...rest: (string | number)[]): string => formatPath(["services", svcName, ...rest]);
    if (appName && `${appName}-${svcName}`.length > LIMITS.nameLength) {
      err("SDX_NAME_TOO_LONG", p(), `"${appName}-${svcName}" is ${appName.length + svcName.length + 1} characters; backends name objects <app>-<service> and the limit is ${LIMITS.nameLength}`, "Shorten the app or service name.");
    } else if (svcName.length > LIMITS.nameLength) {
      err("SDX_NAME_TOO_LONG", p(), `service name is ${svcName.length} characters; the limit is ${LIMITS.nameLength}`, "Shorten the service name.");
    }
    const svc = normalizeService(svcName, raw, p, err, warn, options, { appName, appBuild: isObj(input.build) ? input.build : {} });
    if (svc) services.push(svc);
  }

  // Targets: each checked against its own kind's schema.
  const targets: Target[] = [];
  const rawTargets = isObj(input.targets) ? input.targets : {};
  for (const [tName, raw] of Object.entries(rawTargets)) {
    const path = formatPath(["targets", tName]);
    if (!isObj(raw)) {
      err("SDX_WRONG_TYPE", path, "a target must be a mapping with a `kind`");
      continue;
    }
    const kind = raw.kind;
    if (typeof kind !== "string") {
      err("SDX_MISSING", `${path}.kind`, '"kind" is required', `Set kind to one of: ${kindList}.`);
      continue;
    }
    const spec = targetKinds.get(kind);
    if (!spec) {
      const s = didYouMean(kind, knownKinds);
      err("SDX_UNKNOWN_TARGET_KIND", `${path}.kind`, `unknown target kind "${kind}"`,
        s.length ? `Did you mean "${s[0]}"? Known kinds: ${kindList}.` : `Known kinds: ${kindList}. A third-party backend must be registered to use another kind.`, s);
      continue;
    }
    const t = normalizeTarget(tName, spec, raw, path, diags);
    if (t) targets.push(t);
  }
  if (typeof input.defaultTarget === "string" && !(input.defaultTarget in rawTargets)) {
    const s = didYouMean(input.defaultTarget, Object.keys(rawTargets));
    err("SDX_UNKNOWN_TARGET", "defaultTarget", `no target named "${input.defaultTarget}"`, s.length ? `Did you mean "${s[0]}"?` : "Name one of the app's targets.", s);
  }

  // A reserved key in a fixed-shape object is also an unknown key there: report it once.
  const diagnostics = sortDiagnostics(diags.filter((d) => !(d.code === "SDX_UNKNOWN_KEY" && reservedPaths.has(d.path))));
  if (hasErrors(diagnostics) || !parsed.success) return { diagnostics };
  const app: App = {
    name: parsed.data.name,
    labels: parsed.data.labels ?? {},
    services,
    targets,
    ...(parsed.data.defaultTarget === undefined ? {} : { defaultTarget: parsed.data.defaultTarget }),
    ...(parsed.data.plugins?.length ? { plugins: parsed.data.plugins } : {}),
    ...(parsed.data.build && (parsed.data.build.registry !== undefined || parsed.data.build.base !== undefined) ? { build: dropUndefinedFields({ ...parsed.data.build, registry: parsed.data.build.registry?.replace(/\/+$/, "") }) } : {}),
  };
  return { app, diagnostics };
}

type Report = (code: string, path: string, message: string, hint?: string, suggestions?: string[]) => void;

function unit<T>(r: Parsed<T>, path: string, code: string, err: Report): T | undefined {
  if (r.ok) return r.value;
  err(code, path, r.message, r.hint);
  return undefined;
}

function asList(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  // A string command is split on white space; use a list to keep spaces inside an argument.
  if (typeof v === "string") return v.trim().split(/\s+/).filter((x) => x.length > 0);
  return undefined;
}

function normalizeService(
  name: string, raw: Obj, p: (...rest: (string | number)[]) => string, err: Report,
  warn: (code: string, path: string, message: string, hint?: string) => void, options: ValidateAppOptions,
  app: { readonly appName: string; readonly appBuild: Obj },
): Service | undefined {
  // Image
  let image = typeof raw.image === "string" ? parseImageRef(raw.image) : undefined;
  if (typeof raw.image === "string" && !image) err("SDX_INVALID_IMAGE", p("image"), `"${raw.image}" is not an image reference`, 'Write it like "ghcr.io/acme/web:1.4@sha256:<64 hex>".');
  const build = isObj(raw.build) ? normalizeBuild(raw.build, image, name, p, err, app) : undefined;
  if (raw.image === undefined && raw.build === undefined) {
    err("SDX_MISSING", p("image"), "a service needs an `image` or a `build`", 'Name an image (image: ghcr.io/acme/web:1.4@sha256:…) or build one from source (build: { context: ".", entry: server.js }).');
  }
  // A built service runs what sdx pushes; until then its image names where that goes.
  if (build && !image) {
    const registry = typeof app.appBuild.registry === "string" ? `${app.appBuild.registry.replace(/\/+$/, "")}/` : "";
    const where = build.repository ?? `${registry}${app.appName}-${name}`;
    image = { ref: where, repository: where };
  }
  if (image && isMutableImage(image) && !build) {
    const tag = image.tag ?? "latest";
    warn("SDX_IMAGE_MUTABLE", p("image"), `image "${image.ref}" is not pinned to a digest${tag === "latest" ? " and uses the mutable tag :latest" : ""}; a redeploy may run different code`,
      `Pin it: ${image.repository}:${tag}@sha256:<digest> (docker buildx imagetools inspect or crane digest prints it).`);
  }
  image ??= { ref: "invalid", repository: "invalid" };

  // Env
  const env: Record<string, string> = {};
  if (isObj(raw.env)) {
    for (const [k, v] of Object.entries(raw.env)) {
      if (!PLAIN_ENV_NAME.test(k)) err("SDX_INVALID_ENV_NAME", p("env", k), `"${k}" is not a valid environment variable name`, "Use letters, digits, '_', '-' and '.', not starting with a digit.");
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") env[k] = String(v);
    }
  }

  // Secrets
  const secrets: SecretMount[] = [];
  if (isObj(raw.secrets)) {
    for (const [sName, s] of Object.entries(raw.secrets)) {
      if (!isObj(s)) continue;
      const sp = (...r: string[]): string => p("secrets", sName, ...r);
      if ("value" in s) {
        err("SDX_SECRET_INLINE", sp("value"), "secret values must not be written in the app file",
          `Reference it instead: fromEnv: ${sName.toUpperCase().replace(/-/g, "_")} (read at deploy time), fromFile: ./secrets/${sName}, awsSecretsManager: <arn>, or kubernetesSecret: {name, key}.`);
      }
      const sources: SecretSource[] = [];
      if (typeof s.fromEnv === "string") {
        // Names with "=" (or empty ones) can never be set, so the secret could never resolve.
        if (s.fromEnv === "" || s.fromEnv.includes("=")) err("SDX_INVALID_ENV_NAME", sp("fromEnv"), `${JSON.stringify(s.fromEnv)} cannot be the name of an environment variable`, "Use letters, digits and '_', e.g. fromEnv: DB_PASSWORD.");
        sources.push({ kind: "env", name: s.fromEnv });
      }
      if (typeof s.fromFile === "string") sources.push({ kind: "file", path: s.fromFile });
      if (typeof s.awsSecretsManager === "string") {
        if (!/^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+/.test(s.awsSecretsManager)) err("SDX_SECRET_NOT_ARN", sp("awsSecretsManager"), `"${s.awsSecretsManager}" is not a Secrets Manager ARN`, "Use arn:aws:secretsmanager:<region>:<account>:secret:<name>.");
        sources.push({ kind: "aws-secrets-manager", arn: s.awsSecretsManager });
      }
      if (typeof s.awsSsmParameter === "string") {
        if (!/^arn:aws[\w-]*:ssm:[\w-]+:\d{12}:parameter\/.+/.test(s.awsSsmParameter)) err("SDX_SECRET_NOT_ARN", sp("awsSsmParameter"), `"${s.awsSsmParameter}" is not an SSM parameter ARN`, "Use arn:aws:ssm:<region>:<account>:parameter/<name>.");
        sources.push({ kind: "aws-ssm-parameter", arn: s.awsSsmParameter });
      }
      if (isObj(s.kubernetesSecret) && typeof s.kubernetesSecret.name === "string" && typeof s.kubernetesSecret.key === "string") {
        sources.push({ kind: "kubernetes-secret", name: s.kubernetesSecret.name, key: s.kubernetesSecret.key });
      }
      if (sources.length !== 1 && !("value" in s)) {
        err("SDX_SECRET_SOURCE", sp(), sources.length === 0 ? `secret "${sName}" has no source` : `secret "${sName}" has ${sources.length} sources`,
          "Give exactly one of fromEnv, fromFile, awsSecretsManager, awsSsmParameter, kubernetesSecret.");
      }
      const asEnv = typeof s.asEnv === "string" ? s.asEnv : undefined;
      const asFile = typeof s.asFile === "string" ? s.asFile : undefined;
      if (asEnv === undefined && asFile === undefined) err("SDX_SECRET_UNUSED", sp(), `secret "${sName}" is neither exposed as an env var nor mounted`, "Add asEnv: NAME or asFile: /run/secrets/<name>.");
      if (asEnv !== undefined && !ENV_NAME.test(asEnv)) err("SDX_INVALID_ENV_NAME", sp("asEnv"), `"${asEnv}" is not a valid environment variable name for a secret`, "Use letters, digits and '_', not starting with a digit: secrets are exported by a shell on some backends.");
      if (asEnv !== undefined && asEnv in env) err("SDX_DUPLICATE_ENV", sp("asEnv"), `"${asEnv}" is also set in env`, "Remove one of them.");
      if (asFile !== undefined && !asFile.startsWith("/")) err("SDX_RELATIVE_PATH", sp("asFile"), `"${asFile}" must be an absolute path`);
      if (sources[0]) secrets.push({ name: sName, source: sources[0], ...(asEnv ? { asEnv } : {}), ...(asFile ? { asFile } : {}) });
    }
  }

  // Files
  const files: ConfigFile[] = [];
  const seenPaths = new Map<string, number>();
  if (Array.isArray(raw.files)) {
    raw.files.forEach((f, i) => {
      if (!isObj(f) || typeof f.path !== "string") return;
      if (!f.path.startsWith("/")) err("SDX_RELATIVE_PATH", p("files", i, "path"), `"${f.path}" must be an absolute path inside the container`);
      const prev = seenPaths.get(f.path);
      if (prev !== undefined) err("SDX_DUPLICATE_FILE", p("files", i, "path"), `"${f.path}" is also mounted by files[${prev}]`);
      seenPaths.set(f.path, i);
      const hasContent = typeof f.content === "string";
      const hasFrom = typeof f.fromFile === "string";
      if (hasContent === hasFrom) {
        err("SDX_FILE_SOURCE", p("files", i), "a file needs exactly one of content or fromFile");
        return;
      }
      let content = hasContent ? (f.content as string) : "";
      if (hasFrom) {
        try {
          if (!options.readFile) throw new Error("no file access");
          content = options.readFile(f.fromFile as string);
        } catch (e) {
          // The reader's codes (outside the app, not a regular file, too large, bad encoding) say more than "unreadable".
          if (isSdxError(e) && e.code !== "SDX_FILE_UNREADABLE") err(e.code, p("files", i, "fromFile"), e.message, e.hint);
          else err("SDX_FILE_UNREADABLE", p("files", i, "fromFile"), isSdxError(e) ? e.message : `cannot read "${String(f.fromFile)}"`, "The path is relative to the app file; check that it exists and is readable.");
        }
      }
      const mode = fileMode(f.mode, p("files", i, "mode"), err, warn) ?? 0o444;
      files.push({ path: f.path, content, origin: hasFrom ? String(f.fromFile) : "inline", mode });
    });
  }

  // Ports
  const ports: Port[] = [];
  const seenPorts = new Map<string, number>();
  if (Array.isArray(raw.ports)) {
    raw.ports.forEach((rp, i) => {
      const o = typeof rp === "number" ? { port: rp } : isObj(rp) ? rp : undefined;
      if (!o || typeof o.port !== "number") return;
      const protocol = o.protocol === "udp" ? "udp" : "tcp";
      const key = `${o.port}/${protocol}`;
      const prev = seenPorts.get(key);
      if (prev !== undefined) {
        err("SDX_DUPLICATE_PORT", p("ports", i), `port ${key} is already declared at ports[${prev}]`, "Remove the duplicate, or give it another protocol.");
        return;
      }
      seenPorts.set(key, i);
      const appProtocol = o.appProtocol === "http" || o.appProtocol === "grpc" || o.appProtocol === "tcp" ? o.appProtocol : "tcp";
      ports.push({
        name: typeof o.name === "string" ? o.name : `${protocol === "udp" ? "udp" : appProtocol === "http" ? "http" : "tcp"}-${o.port}`,
        port: o.port, protocol, public: o.public === true, appProtocol,
      });
    });
  }
  const portNames = new Set<string>();
  ports.forEach((pt, i) => {
    if (portNames.has(pt.name)) err("SDX_DUPLICATE_PORT_NAME", p("ports", i, "name"), `port name "${pt.name}" is used twice`);
    portNames.add(pt.name);
  });

  // Health
  let health: HealthCheck | undefined;
  if (isObj(raw.health)) {
    const h = raw.health;
    const probes: HealthProbe[] = [];
    const firstPort = ports[0]?.port;
    const needPort = (o: Obj, kind: string): number | undefined => {
      const port = typeof o.port === "number" ? o.port : firstPort;
      if (port === undefined) err("SDX_HEALTH_PORT", p("health", kind, "port"), `the ${kind} check needs a port and the service declares none`, "Add health." + kind + ".port or a ports entry.");
      else if (!ports.some((x) => x.port === port)) warn("SDX_HEALTH_PORT", p("health", kind, "port"), `health check port ${port} is not in ports`, "Declare it under ports so every backend exposes it.");
      return port;
    };
    if (isObj(h.http) && typeof h.http.path === "string") {
      const port = needPort(h.http, "http");
      if (port !== undefined) probes.push({ kind: "http", path: h.http.path, port });
    }
    if (isObj(h.tcp)) {
      const port = needPort(h.tcp, "tcp");
      if (port !== undefined) probes.push({ kind: "tcp", port });
    }
    if (isObj(h.exec) && Array.isArray(h.exec.command)) probes.push({ kind: "exec", command: asList(h.exec.command) ?? [] });
    if (probes.length !== 1 && (probes.length > 1 || !["http", "tcp", "exec"].some((k) => k in h))) {
      err("SDX_HEALTH_PROBE", p("health"), probes.length > 1 ? "give one of http, tcp or exec, not several" : "a health check needs one of http, tcp or exec");
    }
    const secs = (k: string, def: number, min: number): number => {
      if (h[k] === undefined) return def;
      const v = unit(parseDuration(h[k] as string | number), p("health", k), "SDX_INVALID_DURATION", err);
      if (v === undefined) return def;
      if (v < min || !Number.isInteger(v)) err("SDX_OUT_OF_RANGE", p("health", k), `${k} must be a whole number of seconds ≥ ${min}, got ${v}s`);
      return v;
    };
    if (probes[0]) {
      health = {
        probe: probes[0],
        intervalSeconds: secs("interval", 10, 1),
        timeoutSeconds: secs("timeout", 5, 1),
        retries: typeof h.retries === "number" ? h.retries : 3,
        startPeriodSeconds: secs("startPeriod", 0, 0),
      };
      if (health.timeoutSeconds > health.intervalSeconds) warn("SDX_HEALTH_TIMING", p("health", "timeout"), `timeout (${health.timeoutSeconds}s) is longer than interval (${health.intervalSeconds}s)`);
    }
  }

  // Resources
  const r = isObj(raw.resources) ? raw.resources : {};
  const cpu = r.cpu === undefined ? DEFAULT_RESOURCES.cpuMillis : unit(parseCpu(r.cpu as string | number), p("resources", "cpu"), "SDX_INVALID_CPU", err) ?? DEFAULT_RESOURCES.cpuMillis;
  const mem = r.memory === undefined ? DEFAULT_RESOURCES.memoryMiB : unit(parseMemory(r.memory as string | number), p("resources", "memory"), "SDX_INVALID_MEMORY", err) ?? DEFAULT_RESOURCES.memoryMiB;
  // Which requests are sdx's: priced, never enforced (see Resources.defaulted).
  const defaultedRequests = (["cpu", "memory"] as const).filter((k) => r[k] === undefined);
  let limits: Resources["limits"];
  if (isObj(r.limits)) {
    const lc = r.limits.cpu === undefined ? undefined : unit(parseCpu(r.limits.cpu as string | number), p("resources", "limits", "cpu"), "SDX_INVALID_CPU", err);
    const lm = r.limits.memory === undefined ? undefined : unit(parseMemory(r.limits.memory as string | number), p("resources", "limits", "memory"), "SDX_INVALID_MEMORY", err);
    if (lc !== undefined && lc < cpu) err("SDX_LIMIT_BELOW_REQUEST", p("resources", "limits", "cpu"), "cpu limit is below the request");
    if (lm !== undefined && lm < mem) err("SDX_LIMIT_BELOW_REQUEST", p("resources", "limits", "memory"), "memory limit is below the request");
    limits = { ...(lc === undefined ? {} : { cpuMillis: lc }), ...(lm === undefined ? {} : { memoryMiB: lm }) };
  }
  const resources: Resources = { cpuMillis: cpu, memoryMiB: mem, ...(limits ? { limits } : {}), ...(defaultedRequests.length ? { defaulted: defaultedRequests } : {}) };

  // Scale
  let scale: Scale = { kind: "fixed", replicas: 1 };
  if (raw.replicas !== undefined && raw.autoscale !== undefined) {
    err("SDX_SCALE_CONFLICT", p("autoscale"), "give either replicas or autoscale, not both", "Remove replicas: autoscale.min sets the floor.");
  } else if (isObj(raw.autoscale) && typeof raw.autoscale.min === "number" && typeof raw.autoscale.max === "number") {
    const a = raw.autoscale;
    if ((a.min as number) > (a.max as number)) err("SDX_OUT_OF_RANGE", p("autoscale", "min"), `min (${String(a.min)}) is greater than max (${String(a.max)})`);
    scale = { kind: "auto", min: a.min as number, max: a.max as number, targetCpuPercent: typeof a.targetCpu === "number" ? a.targetCpu : 70 };
  } else if (typeof raw.replicas === "number") {
    scale = { kind: "fixed", replicas: raw.replicas };
  }

  // Volumes
  const volumes: Volume[] = [];
  if (Array.isArray(raw.volumes)) {
    const names = new Set<string>();
    raw.volumes.forEach((v, i) => {
      if (!isObj(v) || typeof v.name !== "string" || typeof v.path !== "string") return;
      if (names.has(v.name)) err("SDX_DUPLICATE_VOLUME", p("volumes", i, "name"), `volume "${v.name}" is declared twice`);
      names.add(v.name);
      if (!v.path.startsWith("/")) err("SDX_RELATIVE_PATH", p("volumes", i, "path"), `"${v.path}" must be an absolute path`);
      if (seenPaths.has(v.path)) err("SDX_DUPLICATE_FILE", p("volumes", i, "path"), `"${v.path}" is also a config file path`);
      const size = v.size === undefined ? undefined : unit(parseMemory(v.size as string | number), p("volumes", i, "size"), "SDX_INVALID_SIZE", err);
      const dockerName = typeof v.dockerName === "string" ? v.dockerName : undefined;
      if (dockerName !== undefined) {
        // Docker's own rule for volume names; an ephemeral volume is a tmpfs and has none.
        if (!DOCKER_VOLUME_NAME.test(dockerName)) err("SDX_INVALID_NAME", p("volumes", i, "dockerName"), `"${dockerName}" is not a Docker volume name`, "Use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 255 characters.");
        if (v.kind !== "persistent") err("SDX_INVALID_VOLUME", p("volumes", i, "dockerName"), `volume "${v.name}" is ephemeral, so it has no Docker volume to name`, "Remove dockerName, or make the volume kind: persistent.");
      }
      volumes.push({
        name: v.name, path: v.path, kind: v.kind === "persistent" ? "persistent" : "ephemeral",
        ...(size === undefined ? {} : { sizeMiB: size }), readOnly: v.readOnly === true, ...(dockerName === undefined ? {} : { dockerName }),
      });
    });
  }

  // Placement
  const pl = isObj(raw.placement) ? raw.placement : {};
  // Left out: priced at the default, no constraint at runtime (see Placement.defaulted).
  const defaultedPlacement = (["spot", "arch"] as const).filter((k) => pl[k] === undefined);
  const placement: Placement = {
    spot: pl.spot === "prefer" || pl.spot === "only" ? pl.spot : "never",
    minOnDemand: typeof pl.minOnDemand === "number" ? pl.minOnDemand : 0,
    arch: pl.arch === "arm64" ? "arm64" : "amd64",
    constraints: isObj(pl.constraints) ? (pl.constraints as Record<string, string>) : {},
    ...(defaultedPlacement.length ? { defaulted: defaultedPlacement } : {}),
  };
  const floor = scale.kind === "fixed" ? scale.replicas : scale.min;
  if (placement.minOnDemand > 0 && placement.spot === "never") warn("SDX_PLACEMENT", p("placement", "minOnDemand"), "minOnDemand has no effect when spot is never (every replica is on-demand)");
  if (placement.minOnDemand > 0 && placement.spot === "only") err("SDX_PLACEMENT", p("placement", "minOnDemand"), "minOnDemand contradicts spot: only", 'Use spot: prefer to keep some replicas on on-demand capacity.');
  if (placement.minOnDemand > floor && placement.spot === "prefer") warn("SDX_PLACEMENT", p("placement", "minOnDemand"), `minOnDemand (${placement.minOnDemand}) exceeds the replica floor (${floor}); every replica will be on-demand`);

  // Rollout
  const ro = isObj(raw.rollout) ? raw.rollout : {};
  const timeout = ro.timeout === undefined ? 600 : unit(parseDuration(ro.timeout as string | number), p("rollout", "timeout"), "SDX_INVALID_DURATION", err) ?? 600;
  const rollout: Rollout = {
    strategy: ro.strategy === "recreate" ? "recreate" : "rolling",
    ...(ro.strategy === undefined ? {} : { strategyGiven: true }),
    maxSurge: typeof ro.maxSurge === "number" || typeof ro.maxSurge === "string" ? ro.maxSurge : "25%",
    maxUnavailable: typeof ro.maxUnavailable === "number" || typeof ro.maxUnavailable === "string" ? ro.maxUnavailable : 0,
    autoRollback: ro.autoRollback !== false,
    timeoutSeconds: Math.max(1, Math.ceil(timeout)),
  };
  // "0%" is as zero as 0: either way no instance may be added or taken down.
  const isZero = (v: number | string): boolean => v === 0 || (typeof v === "string" && /^0+%$/.test(v));
  if (isZero(rollout.maxSurge) && isZero(rollout.maxUnavailable) && rollout.strategy === "rolling") {
    err("SDX_ROLLOUT", p("rollout"), `maxSurge (${JSON.stringify(rollout.maxSurge)}) and maxUnavailable (${JSON.stringify(rollout.maxUnavailable)}) are both zero, so a rolling update could never progress`, "Set maxSurge: 1 or maxUnavailable: 1.");
  }
  if (typeof rollout.maxUnavailable === "string" && /^\d+%$/.test(rollout.maxUnavailable) && parseInt(rollout.maxUnavailable, 10) > 100) {
    err("SDX_OUT_OF_RANGE", p("rollout", "maxUnavailable"), `maxUnavailable is ${rollout.maxUnavailable}; at most 100% of the instances can be down`, "Use a percentage up to 100% or a count.");
  }

  const usage = isObj(raw.usage) ? normalizeUsage(raw.usage, p, err) : undefined;

  const cmd = asList(raw.command);
  const args = asList(raw.args);
  return {
    name, image,
    ...(build ? { build } : {}),
    ...(cmd ? { command: cmd } : {}),
    ...(args ? { args } : {}),
    env, secrets, files, ports,
    ...(health ? { health } : {}),
    resources, scale, volumes, placement, rollout,
    labels: isObj(raw.labels) ? (raw.labels as Record<string, string>) : {},
    ...(usage ? { usage } : {}),
  };
}

/** `usage:` with its sizes in GiB; fields left out stay out (their defaults are USAGE_DEFAULTS', applied when pricing). */
function normalizeUsage(raw: Obj, p: (...rest: (string | number)[]) => string, err: Report): ServiceUsage | undefined {
  const size = (key: string): number | undefined => {
    const v = raw[key];
    if (typeof v !== "string" && typeof v !== "number") return undefined; // absent, or the schema reports it
    return unit(parseSizeGiB(v, `usage.${key}`), p("usage", key), "SDX_INVALID_SIZE", err);
  };
  const logs = size("logs");
  const egress = size("egress");
  const volumeSize = size("volumeSize");
  const lcu = typeof raw.lbCapacityUnits === "number" && raw.lbCapacityUnits >= 0 ? raw.lbCapacityUnits : undefined;
  const usage: ServiceUsage = {
    ...(logs === undefined ? {} : { logsGiBPerMonth: logs }),
    ...(egress === undefined ? {} : { egressGiBPerMonth: egress }),
    ...(lcu === undefined ? {} : { lbCapacityUnits: lcu }),
    ...(volumeSize === undefined ? {} : { volumeSizeGiB: volumeSize }),
  };
  return Object.keys(usage).length > 0 ? usage : undefined;
}

/** A repository as `build.repository` or a registry may name it: host[:port]/path, lower case, no tag or digest. */
const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * `build:` with the app's defaults applied. Paths are checked lexically here
 * (relative, not leaving the app's directory); the builder checks them again
 * on disk, through symlinks.
 */
function normalizeBuild(
  raw: Obj, image: ImageRef | undefined, service: string, p: (...rest: (string | number)[]) => string, err: Report,
  app: { readonly appName: string; readonly appBuild: Obj },
): BuildSpec | undefined {
  const context = typeof raw.context === "string" ? raw.context : ".";
  const entry = typeof raw.entry === "string" ? raw.entry : undefined;
  const inside = (v: string): boolean => !isAbsolute(v) && !/^[a-zA-Z]:[\\/]/.test(v) && !normalize(v).split(/[\\/]/).includes("..");
  if (!inside(context)) {
    err("SDX_PATH_OUTSIDE_APP", p("build", "context"), `build context "${context}" is outside the app's directory`, "Use a directory inside the app file's directory, relative to it (e.g. \".\" or \"services/web\"); sdx ships only files from there.");
  }
  if (entry !== undefined && !inside(entry)) {
    err("SDX_PATH_OUTSIDE_APP", p("build", "entry"), `entry "${entry}" is outside the build context`, "Name the program relative to the context, e.g. server.js or dist/main.js.");
  }
  if (image?.digest !== undefined) {
    err("SDX_BUILD_CONFLICT", p("image"), `image "${image.ref}" is pinned to a digest and the service is also built`, "Remove the digest (the image then names where the build is pushed) or remove `build`.");
  }
  const registry = typeof app.appBuild.registry === "string" ? app.appBuild.registry.replace(/\/+$/, "") : undefined;
  if (registry !== undefined && !REPOSITORY.test(registry)) {
    err("SDX_INVALID_IMAGE", "build.registry", `"${registry}" is not a registry (host[:port][/path], lower case)`, "Write it like ghcr.io/acme or 127.0.0.1:5000.");
  }
  const explicit = typeof raw.repository === "string" ? raw.repository : undefined;
  if (explicit !== undefined && !REPOSITORY.test(explicit)) {
    err("SDX_INVALID_IMAGE", p("build", "repository"), `"${explicit}" is not a repository (no tag or digest, lower case)`, "Write it like ghcr.io/acme/web.");
  }
  // The target's registry, else the app's, is chosen when the image is built (a target may name its own).
  const repository = explicit ?? image?.repository;
  const base = typeof raw.base === "string" ? raw.base : typeof app.appBuild.base === "string" ? app.appBuild.base : DEFAULT_BUILD_BASE;
  if (!parseImageRef(base)) err("SDX_INVALID_IMAGE", typeof raw.base === "string" ? p("build", "base") : "build.base", `"${base}" is not an image reference`, "Write it like node:24-bookworm-slim or 127.0.0.1:5000/sdx/base:1.");
  if (entry === undefined) return undefined; // the schema reports it
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return {
    context: context.replace(/\\/g, "/"),
    entry: entry.replace(/\\/g, "/"),
    base,
    include: strings(raw.include),
    exclude: strings(raw.exclude),
    dependencies: raw.dependencies === "copy" || raw.dependencies === "none" ? raw.dependencies : "npm-ci",
    ...(typeof raw.node === "string" ? { node: raw.node } : {}),
    ...(typeof raw.user === "string" ? { user: raw.user } : {}),
    ...(repository !== undefined ? { repository } : {}),
  };
}

function dropUndefinedFields<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// Modes people write, for telling a decimal mode from octal digits typed without the leading 0.
const COMMON_MODES = new Set([0o400, 0o440, 0o444, 0o500, 0o550, 0o555, 0o600, 0o640, 0o644, 0o660, 0o664, 0o666, 0o700, 0o750, 0o755, 0o770, 0o775, 0o777]);

/**
 * A file mode: a number is decimal (as in JSON and Kubernetes), a string is
 * octal ("0644", "644", "0o644"). The YAML loader turns an unquoted `0644` into
 * the string "0644" so it keeps its octal meaning. Backends can set 0–0777.
 */
function fileMode(raw: unknown, path: string, err: Report, warn: (code: string, path: string, message: string, hint?: string) => void): number | undefined {
  if (raw === undefined) return undefined;
  let mode: number;
  if (typeof raw === "number") {
    if (!Number.isInteger(raw)) return undefined; // the schema reports it
    mode = raw;
  } else if (typeof raw === "string") {
    const m = /^(?:0o|0)?([0-7]{3,4})$/.exec(raw.trim());
    if (!m) {
      err("SDX_INVALID_FORMAT", path, `"${raw}" is not an octal file mode`, 'Write it like "0644".');
      return undefined;
    }
    mode = parseInt(m[1]!, 8);
  } else return undefined;
  const typedOctal = typeof raw === "number" && /^[0-7]{3}$/.test(String(raw)) ? parseInt(String(raw), 8) : undefined;
  if (mode < 0 || mode > 0o777) {
    err("SDX_OUT_OF_RANGE", path, `mode ${typeof raw === "number" ? raw : `"${raw}"`} is outside 0000–0777 (0–511 as a decimal number)`,
      typedOctal !== undefined ? `A number is read as decimal; for octal write mode: "0${raw}".` : 'Write the mode in octal as a quoted string, e.g. mode: "0644", or as a decimal number up to 511; setuid, setgid and sticky bits cannot be set.');
    return undefined;
  }
  if (typedOctal !== undefined && !COMMON_MODES.has(mode) && COMMON_MODES.has(typedOctal)) {
    warn("SDX_MODE_DECIMAL", path, `mode ${raw} is read as decimal, which is ${`0${mode.toString(8)}`.padStart(4, "0")} in octal`, `If you meant octal, write mode: "0${raw}".`);
  }
  return mode;
}

function normalizePricing(raw: unknown): PricingProfile | undefined {
  if (!isObj(raw)) return undefined;
  return {
    provider: raw.provider as PricingProfile["provider"],
    region: raw.region as string,
    nodeTypes: Array.isArray(raw.nodeTypes) ? (raw.nodeTypes as string[]) : [],
    spot: raw.spot === true,
    dedicatedCluster: raw.dedicatedCluster === true,
    controlPlane: (raw.controlPlane as PricingProfile["controlPlane"] | undefined) ?? "none",
  };
}

/** One target: the common fields here, the kind's settings by its spec (schema, then `normalize`). */
function normalizeTarget(name: string, spec: TargetKindSpec, raw: Obj, path: string, diags: Diagnostic[]): Target | undefined {
  const schema = targetSchemaOf(spec);
  const r = schema.safeParse(raw);
  if (!r.success) {
    diags.push(...zodIssuesToDiagnostics(r.error.issues, schema, raw, ["targets", name]));
    return undefined;
  }
  const { kind, pricing, overrides, registry, ...settings } = r.data;
  const common: Target = {
    name,
    kind: kind as string,
    overrides: (Array.isArray(overrides) ? overrides : []) as Override[],
    ...(pricing === undefined ? {} : { pricing: normalizePricing(pricing)! }),
    ...(typeof registry === "string" ? { registry: registry.replace(/\/+$/, "") } : {}),
  };
  const n = spec.normalize(settings, common, path);
  diags.push(...(n.diagnostics ?? []));
  // A spec that reports an error has no target, whatever it returned.
  return n.ok && !hasErrors(n.diagnostics ?? []) ? n.target : undefined;
}
