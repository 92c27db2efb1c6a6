import { isAbsolute, join, posix } from "node:path";
import { parseCpu } from "../model/units.js";
import { formatPath } from "../validation/diagnostic.js";
import { bytesToSdxMemory } from "./compose-units.js";
import { toDnsLabel, uniqueLabel } from "./dns-label.js";
import { ImportReport } from "./import-report.js";
import type { ImportOptions, ImportResult } from "./import-result.js";
import { parseSourceYaml } from "./parse-source.js";
import { SdxError } from "../errors/sdx-error.js";
import { looksCredential, looksSecret } from "./secret-like.js";
import { maskString } from "../secrets/sensitive-values.js";
import { guardUrlPasswords } from "./guard-url-passwords.js";
import { Split, splitDocument } from "./split-value.js";

/** Options for {@link importScore}. */
export interface ImportScoreOptions extends ImportOptions {
  /**
   * The target mapping: outputs of the workload's resources by resource name,
   * e.g. `{ db: { host: "db.internal", port: "5432" } }`. `${resources.db.host}`
   * placeholders take these values; those without one are reported.
   * @default {}
   */
  readonly resources?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTAINER_KEYS = ["image", "command", "args", "variables", "files", "volumes", "resources", "livenessProbe", "readinessProbe", "before"];

interface Ctx {
  readonly r: ImportReport;
  readonly opts: ImportScoreOptions;
  readonly workload: string;
  readonly metadata: Obj;
  readonly resources: Obj;
  /** Resource names some placeholder or volume used. */
  readonly usedResources: Set<string>;
  /** Route resources that matched a service port. */
  readonly matchedRoutes: Set<string>;
  /** Credential values kept out of sdx.yaml, redacted from messages. */
  readonly credentials: Set<string>;
  /** Variables that passwords found in URLs are read from, with their values. */
  readonly urlPasswords: Map<string, string>;
}

/** Result of expanding the placeholders of one string. */
interface Expanded {
  readonly value: string;
  /** Placeholders without a value, as written (`${resources.db.host}`). */
  readonly unresolved: string[];
  /** Resource outputs that were filled in from `options.resources`. */
  readonly mapped: string[];
}

/**
 * Imports a Score workload (score.dev/v1b1) into the authoring format of
 * `sdx.yaml`. The workload becomes the app; each container becomes a service
 * named after it (sdx has no pods, so containers reach each other by service
 * name, not localhost); `service.ports` attach to the first container.
 * `${resources.*}` placeholders need a target mapping: they take values from
 * `options.resources`, and the rest are reported with their path. Pure.
 */
export function importScore(text: string, options: ImportScoreOptions = {}): ImportResult {
  const r = new ImportReport();
  const fileName = options.fileName ?? "score.yaml";
  const parsed = parseSourceYaml(text, fileName);
  r.diagnostics.push(...parsed.diagnostics);
  if (parsed.value === undefined && parsed.diagnostics.length > 0) return { document: {}, template: {}, report: r.notes, diagnostics: r.diagnostics };
  const doc = parsed.value;
  if (!isObj(doc)) {
    r.error("SDX_WRONG_TYPE", "", `${fileName} is not a Score workload: expected a mapping with apiVersion, metadata and containers`);
    return { document: {}, template: {}, report: r.notes, diagnostics: r.diagnostics };
  }
  if (doc.apiVersion !== "score.dev/v1b1") {
    r.error("SDX_IMPORT_FORMAT", "apiVersion", `apiVersion is ${JSON.stringify(doc.apiVersion)}; sdx imports score.dev/v1b1`, "Set apiVersion: score.dev/v1b1 if the workload follows that version.");
  }
  const metadata = isObj(doc.metadata) ? doc.metadata : {};
  const rawName = str(metadata.name);
  if (!rawName) r.error("SDX_MISSING", "metadata.name", "the workload has no metadata.name", "Name the workload: metadata: { name: my-app }.");
  const workload = toDnsLabel(rawName ?? "app");
  if (rawName && workload !== rawName) r.approximated("metadata.name", `app name "${rawName}" became "${workload}" (DNS-1123 label)`);
  for (const k of Object.keys(metadata)) {
    if (k === "name") continue;
    if (k === "annotations") r.dropped("metadata.annotations", "sdx has no annotations; copy what matters into labels");
    else r.ignored(formatPath(["metadata", k]), "extra metadata is only available to placeholders");
  }

  const ctx: Ctx = { r, opts: options, workload: rawName ?? workload, metadata, resources: isObj(doc.resources) ? doc.resources : {}, usedResources: new Set(), matchedRoutes: new Set(), credentials: new Set(), urlPasswords: new Map() };
  const containers = isObj(doc.containers) ? doc.containers : {};
  const names = Object.keys(containers);
  if (names.length === 0) r.error("SDX_MISSING", "containers", "the workload has no containers", "Add one: containers: { main: { image: … } }.");
  if (names.length > 1) {
    r.approximated("containers", `${names.length} containers became ${names.length} services: sdx has no pods, so they reach each other by service name instead of localhost, share no volumes and scale separately; service.ports attach to the first, "${names[0]}"`);
  }

  const ports = isObj(doc.service) ? importServicePorts(ctx, doc.service) : [];
  const taken = new Set<string>();
  const services: Record<string, Obj> = {};
  names.forEach((cName, i) => {
    const c = containers[cName];
    const path = formatPath(["containers", cName]);
    if (!isObj(c)) {
      r.error("SDX_WRONG_TYPE", path, `container "${cName}" must be a mapping`);
      return;
    }
    const sName = uniqueLabel(toDnsLabel(cName), taken);
    if (sName !== cName) r.approximated(path, `service named "${sName}" (DNS-1123 label)`);
    services[sName] = importContainer(ctx, cName, sName, c, i === 0 ? ports : []);
  });
  if (doc.service !== undefined && !isObj(doc.service)) r.error("SDX_WRONG_TYPE", "service", "service must be a mapping with ports");

  reportResources(ctx);
  for (const k of Object.keys(doc)) {
    if (!["apiVersion", "metadata", "containers", "service", "resources"].includes(k)) r.dropped(k, "not part of the Score specification v1b1");
  }

  const targets = options.targets ?? { kubernetes: { kind: "kubernetes" } };
  const split = splitDocument({ name: workload, services, ...(Object.keys(targets).length ? { targets } : {}) });
  // Credential literals are not written into sdx.yaml; messages never repeat them either.
  const redact = (t: string): string => maskString(t, [...ctx.credentials]);
  return {
    document: split.document, template: split.template,
    report: r.notes.map((n) => ({ ...n, reason: redact(n.reason) })),
    diagnostics: r.diagnostics.map((d) => ({ ...d, message: redact(d.message), ...(d.hint !== undefined ? { hint: redact(d.hint) } : {}) })),
  };
}

/** Expands `${metadata.*}` and `${resources.*}` placeholders; `$$` is a literal `$`. */
function expand(ctx: Ctx, s: string): Expanded {
  const unresolved: string[] = [];
  const mapped: string[] = [];
  const value = s.replace(/\$\$|\$\{([^}]*)\}/g, (whole, ref: string | undefined) => {
    if (whole === "$$") return "$";
    const parts = (ref ?? "").split(/(?<!\\)\./).map((x) => x.replace(/\\\./g, "."));
    if (parts[0] === "metadata") {
      let v: unknown = ctx.metadata;
      for (const part of parts.slice(1)) v = isObj(v) ? v[part] : undefined;
      if (typeof v === "string") return v;
      if (parts.length === 2 && parts[1] === "name") return ctx.workload;
      unresolved.push(whole);
      return whole;
    }
    if (parts[0] === "resources" && parts[1] !== undefined) {
      ctx.usedResources.add(parts[1]);
      const outputs = ctx.opts.resources?.[parts[1]];
      const key = parts.slice(2).join(".");
      const v = key === "" ? undefined : outputs?.[key];
      if (v !== undefined) {
        mapped.push(whole);
        return v;
      }
    }
    unresolved.push(whole);
    return whole;
  });
  return { value, unresolved, mapped };
}

function importContainer(ctx: Ctx, cName: string, sName: string, c: Obj, ports: readonly unknown[]): Obj {
  const { r } = ctx;
  const p = (...rest: (string | number)[]): string => formatPath(["containers", cName, ...rest]);
  const out: Obj = {};

  let image = str(c.image) ?? "";
  if (image === "." || image === "") {
    image = `${toDnsLabel(ctx.workload)}-${sName}`;
    r.approximated(p("image"), `"." means an image built from source, and sdx deploys images; build it, push it to a registry and set image to the pushed reference (the import uses "${image}")`);
    r.warning("SDX_IMPORT_BUILD", p("image"), `container "${cName}" has no image to deploy; the import uses "${image}", which no registry holds yet`,
      `Build and push it, then set services.${sName}.image in sdx.yaml.`);
  }
  out.image = image;

  const list = (key: "command" | "args"): string[] | undefined => {
    const v = c[key];
    if (!Array.isArray(v)) return undefined;
    return v.map((x, i) => {
      const e = expand(ctx, str(x) ?? "");
      reportPlaceholders(ctx, p(key, i), e);
      return e.value;
    });
  };
  const command = list("command");
  const args = list("args");
  if (command) out.command = command;
  if (args) out.args = args;

  const env: Record<string, string | Split> = {};
  const secrets: Record<string, Obj | Split> = {};
  const secretNames = new Set<string>();
  if (isObj(c.variables)) {
    for (const [k, v] of Object.entries(c.variables)) {
      const path = p("variables", k);
      if (!ENV_NAME.test(k)) {
        r.dropped(path, `"${k}" is not a valid environment variable name for sdx (letters, digits, _)`);
        continue;
      }
      const e = expand(ctx, str(v) ?? "");
      const secretish = looksSecret(k) || e.unresolved.some((u) => looksSecret(u.replace(/\W+/g, "_")));
      if (e.unresolved.length > 0 && secretish) {
        // No value is known and it is secret: read the whole variable at deploy time instead.
        const name = uniqueLabel(toDnsLabel(k), secretNames);
        secrets[name] = { fromEnv: k, asEnv: k };
        r.approximated(path, `needs a target mapping for ${e.unresolved.join(", ")}: became secret "${name}", read from $${k} at deploy time, so set ${k} to the full value there`);
        continue;
      }
      reportPlaceholders(ctx, path, e);
      if (e.unresolved.length === 0 && e.value !== "" && (looksSecret(k) || looksCredential(e.value))) {
        // A credential (written in the workload or filled in from the resources mapping): sdx.yaml reads it at deploy time instead.
        const name = uniqueLabel(toDnsLabel(k), secretNames);
        env[k] = new Split(e.value, undefined);
        secrets[name] = new Split(undefined, { fromEnv: k, asEnv: k });
        if (e.value.length >= 4) ctx.credentials.add(e.value);
        r.approximated(path, `${k} holds a credential: sdx.yaml does not write it, it reads it at deploy time from $${k} (secret "${name}"), so set ${k} to the value`);
        r.warning("SDX_IMPORT_CREDENTIAL", path, `${k} looks like a credential; sdx.yaml reads it from $${k} at deploy time instead of holding the value`,
          `Set ${k} before deploying the written sdx.yaml, and keep the value out of version control.`);
        continue;
      }
      env[k] = e.value;
    }
  }
  if (Object.keys(env).length) out.env = env;
  if (Object.keys(secrets).length) out.secrets = secrets;

  const files = importFiles(ctx, cName, c.files);
  if (files.length) out.files = files;
  if (ports.length) out.ports = [...ports];

  const health = importProbes(ctx, cName, c);
  if (health) out.health = health;

  const resources = importContainerResources(ctx, cName, c.resources);
  if (resources) out.resources = resources;

  const volumes = importScoreVolumes(ctx, cName, sName, c.volumes);
  if (volumes.length) out.volumes = volumes;

  if (c.before !== undefined) r.dropped(p("before"), "sdx starts services independently; each must retry until the others are reachable");
  for (const k of Object.keys(c)) if (!CONTAINER_KEYS.includes(k)) r.dropped(p(k), "not part of the Score container specification");
  return guardUrlPasswords(out, {
    variable: (password) => urlPasswordVariable(ctx, sName, password),
    secret: (password) => ctx.credentials.add(password),
    report: (field, variable) => {
      r.approximated(p(), `${field} holds a password in a URL: sdx.yaml reads it from \${${variable}} instead, so set ${variable} to the value`);
      r.warning("SDX_IMPORT_CREDENTIAL", p(), `a URL in ${field} holds a password; sdx.yaml reads it from $${variable} at deploy time instead`,
        `Set ${variable} before deploying the written sdx.yaml, and keep the value out of version control.`);
    },
  }) as Obj;
}

/** `URL_PASSWORD`, unless another password already has that name (then prefixed with the service, then numbered). */
function urlPasswordVariable(ctx: Ctx, service: string, password: string): string {
  const taken = (n: string): boolean => ctx.urlPasswords.has(n) && ctx.urlPasswords.get(n) !== password;
  let name = "URL_PASSWORD";
  if (taken(name)) name = `${service}_URL_PASSWORD`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  for (let i = 2; taken(name); i++) name = `${service}_URL_PASSWORD_${i}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  ctx.urlPasswords.set(name, password);
  return name;
}

function reportPlaceholders(ctx: Ctx, path: string, e: Expanded): void {
  if (e.mapped.length > 0) ctx.r.translated(path, `${e.mapped.join(", ")} filled in from the resources mapping`);
  if (e.unresolved.length === 0) return;
  ctx.r.approximated(path, `needs a target mapping: ${e.unresolved.join(", ")} ${e.unresolved.length > 1 ? "are" : "is"} kept literally; give the resource outputs to the import (resources option) or edit sdx.yaml`);
  ctx.r.warning("SDX_IMPORT_UNMAPPED", path, `${e.unresolved.join(", ")} has no value, so the literal placeholder would be deployed`,
    "Pass the resource outputs to the import, or replace the placeholder in sdx.yaml.");
}

function importFiles(ctx: Ctx, cName: string, files: unknown): Obj[] {
  const { r } = ctx;
  const out: Obj[] = [];
  const entries: { target: string | undefined; f: Obj; path: string }[] = [];
  if (Array.isArray(files)) {
    files.forEach((f, i) => {
      if (isObj(f)) entries.push({ target: str(f.target), f, path: formatPath(["containers", cName, "files", i]) });
    });
  } else if (isObj(files)) {
    for (const [target, f] of Object.entries(files)) if (isObj(f)) entries.push({ target, f, path: formatPath(["containers", cName, "files", target]) });
  }
  for (const { target, f, path } of entries) {
    if (!target) {
      r.dropped(path, "a file needs a target path");
      continue;
    }
    const file: Obj = { path: target };
    const noExpand = f.noExpand === true;
    if (typeof f.source === "string") {
      const text = readRelative(ctx, f.source);
      if (text instanceof SdxError) {
        r.error(text.code, `${path}.source`, text.message, text.hint);
        continue;
      }
      if (!noExpand && text !== undefined && /\$\{/.test(text)) {
        // sdx reads fromFile as is, so a file with placeholders is expanded and inlined.
        const e = expand(ctx, text);
        file.content = e.value;
        r.approximated(`${path}.source`, `${f.source} has placeholders, so its expanded content is inlined into sdx.yaml`);
        reportPlaceholders(ctx, `${path}.source`, e);
      } else {
        file.fromFile = isAbsolute(f.source) ? f.source : posix.normalize(f.source.replace(/\\/g, "/"));
      }
    } else if (typeof f.content === "string") {
      if (noExpand) file.content = f.content;
      else {
        const e = expand(ctx, f.content);
        file.content = e.value;
        reportPlaceholders(ctx, `${path}.content`, e);
      }
    } else if (typeof f.binaryContent === "string") {
      const text = decodeUtf8(f.binaryContent);
      if (text === undefined) {
        r.dropped(path, "binary content: sdx files are UTF-8 text; bake the file into the image");
        continue;
      }
      file.content = text;
      r.translated(`${path}.binaryContent`, "decoded from base64 (it is UTF-8 text)");
    } else {
      r.dropped(path, "a file needs source, content or binaryContent");
      continue;
    }
    if (typeof f.mode === "string") file.mode = f.mode;
    out.push(file);
  }
  return out;
}

function decodeUtf8(b64: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(b64, "base64"));
  } catch {
    return undefined;
  }
}

/** Codes of the contained reader's refusals: the file is not missing, it must not be read. */
const REFUSED = new Set(["SDX_PATH_OUTSIDE_APP", "SDX_FILE_NOT_REGULAR", "SDX_FILE_TOO_LARGE", "SDX_INVALID_ENCODING"]);

/** Reads a file through `options.readFile`, the only way the importer reads: undefined when it cannot, or the reader's refusal. */
function readRelative(ctx: Ctx, file: string): string | SdxError | undefined {
  if (!ctx.opts.readFile) return undefined;
  try {
    return ctx.opts.readFile(ctx.opts.baseDir === undefined || isAbsolute(file) ? file : join(ctx.opts.baseDir, file));
  } catch (e) {
    return e instanceof SdxError && REFUSED.has(e.code) ? e : undefined;
  }
}

function importProbes(ctx: Ctx, cName: string, c: Obj): Obj | undefined {
  const { r } = ctx;
  const p = (...rest: string[]): string => formatPath(["containers", cName, ...rest]);
  const readiness = isObj(c.readinessProbe) ? c.readinessProbe : undefined;
  const liveness = isObj(c.livenessProbe) ? c.livenessProbe : undefined;
  const chosen = readiness ?? liveness;
  if (!chosen) return undefined;
  const key = readiness ? "readinessProbe" : "livenessProbe";
  if (readiness && liveness) {
    if (JSON.stringify(readiness) === JSON.stringify(liveness)) r.translated(p("livenessProbe"), "the same as readinessProbe; sdx has one health check");
    else r.approximated(p("livenessProbe"), "sdx has one health check, used for both readiness and liveness; the readinessProbe is kept");
  }
  // The Score specification asks implementations to prefer exec when both are given.
  if (isObj(chosen.exec) && Array.isArray(chosen.exec.command) && chosen.exec.command.length > 0) {
    if (chosen.httpGet !== undefined) r.dropped(p(key, "httpGet"), "the exec probe is used, as the Score specification prefers");
    return { exec: { command: chosen.exec.command.map((x) => str(x) ?? "") } };
  }
  const h = isObj(chosen.httpGet) ? chosen.httpGet : undefined;
  if (!h || typeof h.path !== "string" || typeof h.port !== "number") {
    r.dropped(p(key), "a probe needs exec.command or httpGet with path and port");
    return undefined;
  }
  if (h.host !== undefined) r.dropped(p(key, "httpGet", "host"), "sdx probes the instance itself");
  if (h.scheme === "HTTPS") r.approximated(p(key, "httpGet", "scheme"), "sdx probes with plain HTTP");
  if (h.httpHeaders !== undefined) r.dropped(p(key, "httpGet", "httpHeaders"), "sdx sends no extra probe headers");
  return { http: { path: h.path, port: h.port } };
}

/** A Score quantity as sdx accepts it: sdx's own units pass through, others become MiB. */
function scoreMemory(v: string): string | undefined {
  if (/^\d+(\.\d+)?(K|M|G|T|Ki|Mi|Gi|Ti)$/.test(v)) return v;
  const m = /^(\d+(?:\.\d+)?)(P|E|Pi|Ei)?$/.exec(v);
  if (!m) return undefined;
  const factor = m[2] === undefined ? 1 : m[2].endsWith("i") ? 1024 ** (m[2].startsWith("P") ? 5 : 6) : 1000 ** (m[2] === "P" ? 5 : 6);
  return bytesToSdxMemory(Number(m[1]) * factor).value;
}

function importContainerResources(ctx: Ctx, cName: string, res: unknown): Obj | undefined {
  const { r } = ctx;
  if (!isObj(res)) return undefined;
  const p = (...rest: string[]): string => formatPath(["containers", cName, "resources", ...rest]);
  const read = (part: "requests" | "limits"): { cpu?: string; memory?: string } => {
    const o = isObj(res[part]) ? res[part] : {};
    const out: { cpu?: string; memory?: string } = {};
    const cpu = str(o.cpu);
    if (cpu !== undefined) {
      if (parseCpu(cpu).ok) out.cpu = cpu;
      else r.error("SDX_INVALID_CPU", p(part, "cpu"), `cannot read cpu ${JSON.stringify(o.cpu)}`);
    }
    const memory = str(o.memory);
    if (memory !== undefined) {
      const m = scoreMemory(memory);
      if (m === undefined) r.error("SDX_INVALID_MEMORY", p(part, "memory"), `cannot read memory ${JSON.stringify(o.memory)}`);
      else {
        out.memory = m;
        if (m !== memory) r.approximated(p(part, "memory"), `${memory} became ${m}`);
      }
    }
    return out;
  };
  const requests = read("requests");
  const limits = read("limits");
  const out: Obj = { ...requests };
  // As in Kubernetes, which Score follows: a limit without a request is also the request.
  for (const k of ["cpu", "memory"] as const) {
    if (requests[k] === undefined && limits[k] !== undefined) {
      out[k] = limits[k];
      r.translated(p("limits", k), `no request: the request is the limit (${limits[k]}), as in Kubernetes`);
    }
  }
  if (limits.cpu !== undefined || limits.memory !== undefined) out.limits = limits;
  return Object.keys(out).length ? out : undefined;
}

function importScoreVolumes(ctx: Ctx, cName: string, sName: string, volumes: unknown): Obj[] {
  const { r } = ctx;
  const out: Obj[] = [];
  const taken = new Set<string>();
  const entries: { target: string | undefined; v: Obj; path: string }[] = [];
  if (Array.isArray(volumes)) {
    volumes.forEach((v, i) => {
      if (isObj(v)) entries.push({ target: str(v.target), v, path: formatPath(["containers", cName, "volumes", i]) });
    });
  } else if (isObj(volumes)) {
    for (const [target, v] of Object.entries(volumes)) if (isObj(v)) entries.push({ target, v, path: formatPath(["containers", cName, "volumes", target]) });
  }
  for (const { target, v, path } of entries) {
    const source = str(v.source) ?? "";
    const resName = /^\$\{resources\.([^.}]+)\}$/.exec(source)?.[1] ?? source;
    if (!target || !resName) {
      r.dropped(path, "a volume needs a target path and a source");
      continue;
    }
    ctx.usedResources.add(resName);
    const name = uniqueLabel(toDnsLabel(resName), taken);
    out.push({ name, path: target, kind: "persistent", ...(v.readOnly === true ? { readOnly: true } : {}) });
    r.approximated(path, `volume resource "${resName}" became a persistent volume owned by service "${sName}"; other workloads cannot share it`);
    if (v.path !== undefined) r.dropped(`${path}.path`, "sdx mounts the whole volume");
  }
  return out;
}

/** `service.ports` as sdx ports of the first container; a `route` resource on a port makes it public. */
function importServicePorts(ctx: Ctx, service: Obj): unknown[] {
  const { r } = ctx;
  const out: unknown[] = [];
  const routes = Object.entries(ctx.resources)
    .filter(([, res]) => isObj(res) && res.type === "route")
    .map(([name, res]) => ({ name, port: isObj(res) && isObj(res.params) ? Number(res.params.port) : NaN }));
  const ports = isObj(service.ports) ? service.ports : {};
  for (const [pName, sp] of Object.entries(ports)) {
    const path = formatPath(["service", "ports", pName]);
    if (!isObj(sp) || typeof sp.port !== "number") {
      r.dropped(path, "a service port needs a port number");
      continue;
    }
    const target = typeof sp.targetPort === "number" ? sp.targetPort : sp.port;
    if (target !== sp.port) {
      r.approximated(`${path}.targetPort`, `sdx exposes the container port ${target}, so other services must connect to ${target}, not ${sp.port}`);
    }
    const route = routes.find((x) => x.port === sp.port || x.port === target);
    if (route) {
      ctx.matchedRoutes.add(route.name);
      r.approximated(formatPath(["resources", route.name]), `route to port ${sp.port}: the port is public (load balancer or ingress, per target), as HTTP; the route's host and path are not kept`);
    }
    const name = toDnsLabel(pName);
    out.push({
      port: target,
      ...(name !== `tcp-${target}` ? { name } : {}),
      ...(sp.protocol === "UDP" ? { protocol: "udp" } : {}),
      ...(route ? { appProtocol: "http", public: true } : {}),
    });
  }
  for (const k of Object.keys(service)) if (k !== "ports") r.dropped(formatPath(["service", k]), "not part of the Score specification v1b1");
  return out;
}

function reportResources(ctx: Ctx): void {
  for (const [name, res] of Object.entries(ctx.resources)) {
    const path = formatPath(["resources", name]);
    const type = isObj(res) ? str(res.type) : undefined;
    const cls = isObj(res) ? str(res.class) : undefined;
    if (type === "volume") {
      if (!ctx.usedResources.has(name)) ctx.r.ignored(path, "volume resource not mounted by any container");
      continue;
    }
    if (type === "route") {
      if (!ctx.matchedRoutes.has(name)) ctx.r.dropped(path, "route to no port of service.ports; declare the port under service.ports");
      continue;
    }
    const outputs = ctx.opts.resources?.[name];
    if (outputs) ctx.r.translated(path, `outputs taken from the resources mapping (${Object.keys(outputs).join(", ")}); sdx does not provision the ${type ?? "resource"} itself`);
    else ctx.r.dropped(path, `needs a target mapping: sdx does not provision resources. Provision the ${type ?? "resource"}${cls ? ` (class ${cls})` : ""} yourself and give its outputs to the import (resources option) or write them into sdx.yaml`);
  }
}
