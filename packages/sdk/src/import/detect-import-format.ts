import { parse } from "yaml";
import { prescanYamlDepth } from "../load/check-yaml-budget.js";

/** File formats `sdx` reads: its own, or one it imports. */
export type ImportFormat = "sdx" | "compose" | "score";

/** Result of {@link detectImportFormat}. */
export interface DetectImportFormatResult {
  /** The format, or undefined when neither the name nor the content tells. */
  readonly format?: ImportFormat;
  /** Why, for messages: `file name compose.yaml`, `apiVersion score.dev/v1b1`, … */
  readonly reason: string;
}

const COMPOSE_NAME = /^(docker-)?compose(\.[\w.-]+)?\.ya?ml$|\.compose\.ya?ml$/;
const SCORE_NAME = /^score(\.[\w.-]+)?\.ya?ml$|\.score\.ya?ml$/;
const SDX_NAME = /^sdx(\.[\w.-]+)?\.(ya?ml|json)$|^sdx\.config\.(ts|mts|js|mjs)$/;

/** Service keys only Compose has, and only sdx has. */
const COMPOSE_SERVICE_KEYS = ["environment", "deploy", "healthcheck", "build", "env_file", "depends_on", "restart", "container_name", "expose", "entrypoint", "networks", "profiles"];
const SDX_SERVICE_KEYS = ["env", "health", "replicas", "autoscale", "rollout", "placement", "args", "files"];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Decides whether a file is an sdx app, a Compose file or a Score workload.
 * Content decides when it is unambiguous (a Score `apiVersion`, Compose-only or
 * sdx-only keys); otherwise the file name does (`compose.yaml`,
 * `docker-compose.yml`, `*.score.yaml`, `sdx.yaml`, …). Pure; never throws.
 */
export function detectImportFormat(fileName: string | undefined, text?: string): DetectImportFormatResult {
  const base = (fileName ?? "").replace(/\\/g, "/").split("/").pop()!.toLowerCase();
  const byName: DetectImportFormatResult | undefined = COMPOSE_NAME.test(base) ? { format: "compose", reason: `file name ${base}` }
    : SCORE_NAME.test(base) ? { format: "score", reason: `file name ${base}` }
      : SDX_NAME.test(base) || /\.(ts|mts|js|mjs)$/.test(base) ? { format: "sdx", reason: `file name ${base}` }
        : undefined;
  if (text === undefined) return byName ?? { reason: `cannot tell the format of ${fileName ?? "the input"} from its name` };

  // Far too deeply nested to parse quickly (a million brackets): the name decides; the importer then reports the limit.
  if (prescanYamlDepth(text, fileName ?? "input")) return byName ?? { reason: "the content nests too deeply to tell" };
  let doc: unknown;
  try {
    // uniqueKeys: false, as the yaml package's duplicate check is quadratic in a mapping's size; the loaders report duplicates.
    // logLevel "error": the yaml package would print warnings (an unknown tag) to stderr itself; library code never prints.
    doc = parse(text, { merge: true, maxAliasCount: 1000, uniqueKeys: false, logLevel: "error" });
  } catch {
    return byName ?? { reason: "the content is not YAML or JSON and the file name does not tell" };
  }
  return detectFromContent(doc, byName);
}

/**
 * {@link detectImportFormat} for content that is already parsed (so a large
 * file is not parsed twice). Pure; never throws.
 */
export function detectImportFormatOfDocument(fileName: string | undefined, doc: unknown): DetectImportFormatResult {
  const byName = detectImportFormat(fileName);
  return detectFromContent(doc, byName.format ? byName : undefined);
}

function detectFromContent(doc: unknown, byName: DetectImportFormatResult | undefined): DetectImportFormatResult {
  if (!isObj(doc)) return byName ?? { reason: "the content is not a mapping" };

  if (typeof doc.apiVersion === "string" && doc.apiVersion.startsWith("score.dev/")) return { format: "score", reason: `apiVersion ${doc.apiVersion}` };
  if (typeof doc.$schema === "string" && /sdx/i.test(doc.$schema)) return { format: "sdx", reason: "$schema names the sdx schema" };
  if (isObj(doc.targets)) return { format: "sdx", reason: "it has targets" };
  const composeTop = ["version", "networks", "volumes", "secrets", "configs", "include"].find((k) => k in doc) ?? Object.keys(doc).find((k) => k.startsWith("x-"));
  if (composeTop !== undefined) return { format: "compose", reason: `top-level ${composeTop}` };

  const services = isObj(doc.services) ? Object.values(doc.services).filter(isObj) : [];
  const keys = new Set(services.flatMap((s) => Object.keys(s)));
  const composeKey = COMPOSE_SERVICE_KEYS.find((k) => keys.has(k));
  const sdxKey = SDX_SERVICE_KEYS.find((k) => keys.has(k));
  if (composeKey && !sdxKey) return { format: "compose", reason: `services use ${composeKey}` };
  if (sdxKey && !composeKey) return { format: "sdx", reason: `services use ${sdxKey}` };
  const stringPorts = services.some((s) => Array.isArray(s.ports) && s.ports.some((p) => typeof p === "string"));
  if (byName) return byName;
  if (stringPorts) return { format: "compose", reason: 'ports written as "host:container" strings' };
  if ("containers" in doc && isObj(doc.metadata)) return { format: "score", reason: "it has metadata and containers" };
  if (services.length > 0 && typeof doc.name === "string") return { format: "sdx", reason: "it has a name and services" };
  if (services.length > 0) return { format: "compose", reason: "it has services but no app name" };
  return { reason: "neither the file name nor the content tells whether it is sdx, Compose or Score" };
}
