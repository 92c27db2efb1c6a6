import type { Target } from "../model/app.js";
import { formatPath, sortDiagnostics, type Diagnostic } from "./diagnostic.js";
import { validateApp, type ValidateAppOptions, type ValidateAppResult } from "./validate-app.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Validates an app given as an object to the API (`plan(app)`, `deploy(app)`)
 * exactly like an app file: the normalised {@link App} is written back in the
 * authoring form and run through {@link validateApp}, so names, namespaces,
 * labels, paths, limits, reserved keys and target settings get the same checks
 * and the same diagnostics, at authoring paths (`services.web.env.X`).
 * An object in the authoring form (services as a map, as `defineApp()` returns)
 * is validated as is. Returns the re-normalised app, which equals a valid input.
 */
export function validateNormalizedApp(input: unknown, options: Omit<ValidateAppOptions, "readFile"> = {}): ValidateAppResult {
  if (!isObj(input)) {
    return { diagnostics: [{ code: "SDX_WRONG_TYPE", severity: "error", path: "", message: `expected an app object, got ${input === null ? "null" : Array.isArray(input) ? "a list" : typeof input}` }] };
  }
  // Authoring form: nothing to translate. Files are inline only (no file access here).
  if (!Array.isArray(input.services)) return validateApp(input, options);

  const diags: Diagnostic[] = [];
  const { services, targets, ...rest } = input;
  const doc: Obj = { ...rest, services: toRecord(services, "services", diags, toServiceInput) };
  const toTarget = (t: Obj): Obj => toTargetInput(t, options.targetKinds);
  if (targets !== undefined) doc.targets = Array.isArray(targets) ? toRecord(targets, "targets", diags, toTarget) : targets;
  const r = validateApp(doc, options);
  const diagnostics = sortDiagnostics([...diags, ...r.diagnostics]);
  if (!r.app || diags.some((d) => d.severity === "error")) return { diagnostics };
  // `origin` only names where a file's content came from, for messages; keep the caller's.
  const app = {
    ...r.app,
    services: r.app.services.map((s, i) => {
      const given = (services as unknown[])[i];
      const files = isObj(given) && Array.isArray(given.files) ? given.files : [];
      return { ...s, files: s.files.map((f, j) => (isObj(files[j]) && typeof files[j].origin === "string" ? { ...f, origin: files[j].origin } : f)) };
    }),
  };
  return { app, diagnostics };
}

/** An array of named items as a map by name; reports items that are not objects, unnamed or named twice. */
function toRecord(items: readonly unknown[], what: string, diags: Diagnostic[], convert: (item: Obj, path: string, diags: Diagnostic[]) => Obj): Obj {
  const out: Obj = {};
  items.forEach((item, i) => {
    if (!isObj(item)) {
      diags.push({ code: "SDX_WRONG_TYPE", severity: "error", path: formatPath([what, i]), message: `expected an object, got ${item === null ? "null" : Array.isArray(item) ? "a list" : typeof item}` });
      return;
    }
    if (typeof item.name !== "string") {
      diags.push({ code: "SDX_MISSING", severity: "error", path: formatPath([what, i, "name"]), message: '"name" is required' });
      return;
    }
    if (Object.prototype.hasOwnProperty.call(out, item.name)) {
      diags.push({ code: `SDX_DUPLICATE_${what === "services" ? "SERVICE" : "TARGET"}`, severity: "error", path: formatPath([what, i, "name"]), message: `"${item.name}" is used by an earlier item of ${what}`, hint: "Names must be unique." });
      return;
    }
    // defineProperty: a "__proto__" name must stay a key, for validation to report it.
    Object.defineProperty(out, item.name, { value: convert(item, formatPath([what, item.name]), diags), enumerable: true, writable: true, configurable: true });
  });
  return out;
}

/** A normalised Service written back as it would appear in sdx.yaml. Unknown fields pass through, so the schema reports them. */
function toServiceInput(s: Obj, path: string, diags: Diagnostic[]): Obj {
  const { name: _name, image, secrets, files, health, resources, placement, scale, volumes, rollout, usage, ...rest } = s;
  const out: Obj = { ...rest };
  // A built service's undigested image only names where the build goes, which `build.repository` (or the default) says again.
  const placeholder = isObj(rest.build) && isObj(image) && image.digest === undefined;
  if (image !== undefined && !placeholder) out.image = isObj(image) ? image.ref : image;
  if (Array.isArray(secrets)) out.secrets = toSecretsInput(secrets, `${path}.secrets`, diags);
  else if (secrets !== undefined) out.secrets = secrets;
  if (Array.isArray(files)) out.files = files.map((f) => (isObj(f) ? (({ origin: _o, ...fr }) => fr)(f) : f));
  else if (files !== undefined) out.files = files;
  if (isObj(health)) {
    const { probe, intervalSeconds, timeoutSeconds, retries, startPeriodSeconds, ...hr } = health;
    const h: Obj = { ...hr, interval: intervalSeconds, timeout: timeoutSeconds, retries, startPeriod: startPeriodSeconds };
    if (isObj(probe)) {
      const { kind, ...pr } = probe;
      if (kind === "http" || kind === "tcp" || kind === "exec") h[kind] = pr;
      else diags.push({ code: "SDX_INVALID_VALUE", severity: "error", path: `${path}.health.probe.kind`, message: `${JSON.stringify(kind)} is not one of "http", "tcp", "exec"` });
    }
    out.health = dropUndefined(h);
  } else if (health !== undefined) out.health = health;
  if (isObj(resources)) {
    const { cpuMillis, memoryMiB, limits, defaulted, ...rr } = resources;
    const left = leftOut(defaulted, ["cpu", "memory"], `${path}.resources.defaulted`, diags);
    const l = isObj(limits) ? dropUndefined({ cpu: cpu(limits.cpuMillis), memory: mem(limits.memoryMiB) }) : limits;
    // A defaulted request goes back to being left out, so it stays unenforced after the round trip.
    out.resources = dropUndefined({ ...rr, cpu: left.has("cpu") ? undefined : cpu(cpuMillis), memory: left.has("memory") ? undefined : mem(memoryMiB), limits: l });
  } else if (resources !== undefined) out.resources = resources;
  if (isObj(placement)) {
    const { defaulted, ...pr } = placement;
    const left = leftOut(defaulted, ["spot", "arch"], `${path}.placement.defaulted`, diags);
    out.placement = dropUndefined({ ...pr, spot: left.has("spot") ? undefined : pr.spot, arch: left.has("arch") ? undefined : pr.arch });
  } else if (placement !== undefined) out.placement = placement;
  if (isObj(scale)) {
    if (scale.kind === "fixed") out.replicas = scale.replicas;
    else if (scale.kind === "auto") out.autoscale = dropUndefined({ min: scale.min, max: scale.max, targetCpu: scale.targetCpuPercent });
    else diags.push({ code: "SDX_INVALID_VALUE", severity: "error", path: `${path}.scale.kind`, message: `${JSON.stringify(scale.kind)} is not one of "fixed", "auto"` });
  } else if (scale !== undefined) out.replicas = scale;
  if (Array.isArray(volumes)) out.volumes = volumes.map((v) => (isObj(v) ? (({ sizeMiB, ...vr }) => dropUndefined({ ...vr, size: mem(sizeMiB) }))(v) : v));
  else if (volumes !== undefined) out.volumes = volumes;
  if (isObj(rollout)) {
    const { timeoutSeconds, strategyGiven, strategy, ...ror } = rollout;
    // A defaulted "rolling" goes back to being left out, so one replica with a persistent volume stays stop-first.
    out.rollout = dropUndefined({ ...ror, ...(strategyGiven === true || strategy !== "rolling" ? { strategy } : {}), timeout: timeoutSeconds });
  } else if (rollout !== undefined) out.rollout = rollout;
  if (isObj(usage)) {
    const { logsGiBPerMonth, egressGiBPerMonth, volumeSizeGiB, ...ur } = usage;
    out.usage = dropUndefined({ ...ur, logs: gib(logsGiBPerMonth), egress: gib(egressGiBPerMonth), volumeSize: gib(volumeSizeGiB) });
  } else if (usage !== undefined) out.usage = usage;
  return out;
}

const SECRET_SOURCE_FIELDS: Readonly<Record<string, (s: Obj) => Obj>> = {
  env: (s) => ({ fromEnv: s.name }),
  file: (s) => ({ fromFile: s.path }),
  "aws-secrets-manager": (s) => ({ awsSecretsManager: s.arn }),
  "aws-ssm-parameter": (s) => ({ awsSsmParameter: s.arn }),
  "kubernetes-secret": (s) => ({ kubernetesSecret: { name: s.name, key: s.key } }),
};

function toSecretsInput(secrets: readonly unknown[], path: string, diags: Diagnostic[]): Obj {
  const out: Obj = {};
  secrets.forEach((m, i) => {
    if (!isObj(m) || typeof m.name !== "string") {
      diags.push({ code: "SDX_WRONG_TYPE", severity: "error", path: `${path}[${i}]`, message: "expected a secret mount with a name" });
      return;
    }
    const { name, source, ...rest } = m;
    const sp = `${path}.${formatPath([name])}`;
    if (Object.prototype.hasOwnProperty.call(out, name)) {
      diags.push({ code: "SDX_DUPLICATE_SECRET", severity: "error", path: sp, message: `secret "${name}" is mounted twice` });
      return;
    }
    const toFields = isObj(source) && typeof source.kind === "string" ? SECRET_SOURCE_FIELDS[source.kind] : undefined;
    if (!toFields) diags.push({ code: "SDX_INVALID_VALUE", severity: "error", path: `${sp}.source.kind`, message: `${JSON.stringify(isObj(source) ? source.kind : source)} is not one of ${Object.keys(SECRET_SOURCE_FIELDS).map((k) => `"${k}"`).join(", ")}` });
    Object.defineProperty(out, name, { value: { ...rest, ...(toFields ? toFields(source as Obj) : {}) }, enumerable: true, writable: true, configurable: true });
  });
  return out;
}

/**
 * A normalised target written back as in sdx.yaml, by its kind's spec (which
 * knows the fields its `normalize` renamed); an unknown kind passes through,
 * for validation to report it.
 */
function toTargetInput(t: Obj, targetKinds: ValidateAppOptions["targetKinds"]): Obj {
  const spec = typeof t.kind === "string" ? targetKinds?.get(t.kind) : undefined;
  const { name: _name, ...rest } = t;
  if (!spec?.toSettings) return dropUndefined(rest);
  // The object came from the caller: it is only as typed as the validation that follows makes it.
  return dropUndefined({ kind: t.kind, pricing: t.pricing, overrides: t.overrides, ...spec.toSettings(t as unknown as Target) });
}

/** The fields a `defaulted` list names (absent: none); anything but a list of `allowed` names is reported. */
function leftOut(defaulted: unknown, allowed: readonly string[], path: string, diags: Diagnostic[]): Set<string> {
  if (defaulted === undefined) return new Set();
  if (!Array.isArray(defaulted) || defaulted.some((d) => typeof d !== "string" || !allowed.includes(d))) {
    diags.push({ code: "SDX_INVALID_VALUE", severity: "error", path, message: `${JSON.stringify(defaulted)} is not a list of ${allowed.map((a) => `"${a}"`).join(", ")}`, hint: "List the fields the app left out, or leave `defaulted` out when every one was given." });
    return new Set();
  }
  return new Set(defaulted as string[]);
}

const cpu = (m: unknown): unknown => (typeof m === "number" ? `${m}m` : m);
const mem = (m: unknown): unknown => (typeof m === "number" ? `${m}Mi` : m);
// A negative number is passed on as a number, for validation to report it as negative.
const gib = (g: unknown): unknown => (typeof g === "number" && g > 0 ? `${g}Gi` : g);

function dropUndefined(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
