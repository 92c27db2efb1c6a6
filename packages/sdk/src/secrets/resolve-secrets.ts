import { resolve as resolvePath } from "node:path";
import { isSdxError } from "../errors/sdx-error.js";
import { readContainedBytes, statContainedFile, type FileAccess } from "../load/read-contained-file.js";
import type { App, SecretMount, SecretSource } from "../model/app.js";
import { canonicalJson, sha256 } from "../revision/canonical-json.js";
import { formatPath, type Diagnostic } from "../validation/diagnostic.js";
import { Redacted } from "./redacted.js";

/** One secret as a backend sees it: a content digest, and the value when sdx itself delivers it. */
export interface ResolvedSecret {
  readonly service: string;
  readonly name: string;
  readonly source: SecretSource;
  /** 16 hex characters of SHA-256 over the value (or over the reference, for backend-native stores). Safe to print. */
  readonly digest: string;
  /** Present for env/file sources once read. Absent for backend-native stores, which the backend reads itself. */
  readonly value?: Redacted;
  /** Size of the value in bytes (UTF-8), when read; checked against backends' size limits. Safe to print. */
  readonly bytes?: number;
}

/** Secrets keyed by `service/secret`. */
export type ResolvedSecrets = ReadonlyMap<string, ResolvedSecret>;

/** Options for {@link resolveSecrets}. */
export interface ResolveSecretsOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory `fromFile` paths resolve against, and that they must stay inside. @default process.cwd() */
  readonly baseDir?: string;
  /** Directories outside `baseDir` that `fromFile` may read from (see {@link FileAccess}). @default [] */
  readonly allowOutside?: readonly string[];
  /**
   * Injected for tests; gets the path resolved against `baseDir` and bypasses the
   * containment checks. @default a contained, size-capped read (readContainedBytes)
   */
  readonly readFile?: (path: string) => Promise<string>;
  /**
   * `error` when a value must be present (deploy); `warning` when it may be
   * missing (plan), in which case the digest stands for "unresolved".
   * @default "error"
   */
  readonly missing?: "error" | "warning";
}

/** Key of a secret in {@link ResolvedSecrets}. */
export const secretKey = (service: string, secret: string): string => `${service}/${secret}`;

/**
 * Reads the secrets sdx delivers itself (env and file sources) and digests all
 * of them. Values are wrapped in {@link Redacted} at once; diagnostics name the
 * variable or file, never the value.
 */
export async function resolveSecrets(app: App, options: ResolveSecretsOptions = {}): Promise<{ secrets: ResolvedSecrets; diagnostics: Diagnostic[] }> {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? process.cwd();
  const access: FileAccess = { baseDir, allowOutside: options.allowOutside ?? [] };
  // Secrets may be binary, so no UTF-8 check; the value is carried as a string as before.
  const read = async (p: string): Promise<string> =>
    options.readFile ? options.readFile(resolvePath(baseDir, p)) : readContainedBytes(p, { ...access, what: "secret file" }).toString("utf8");
  const severity = options.missing ?? "error";
  const secrets = new Map<string, ResolvedSecret>();
  const diagnostics: Diagnostic[] = [];
  const unresolved = (svc: string, s: SecretMount, message: string, hint: string): void => {
    diagnostics.push({ code: "SDX_SECRET_UNRESOLVED", severity, path: `services.${svc}.secrets.${s.name}`, message, hint });
    secrets.set(secretKey(svc, s.name), { service: svc, name: s.name, source: s.source, digest: sha256(`unresolved:${canonicalJson(s.source)}`, 16) });
  };
  for (const svc of app.services) {
    for (const s of svc.secrets) {
      const src = s.source;
      switch (src.kind) {
        case "env": {
          const v = env[src.name];
          if (v === undefined) unresolved(svc.name, s, `environment variable ${src.name} is not set`, `Export ${src.name} before deploying; its value is read at deploy time and never stored.`);
          else secrets.set(secretKey(svc.name, s.name), { service: svc.name, name: s.name, source: src, digest: sha256(v, 16), value: new Redacted(v), bytes: Buffer.byteLength(v, "utf8") });
          break;
        }
        case "file": {
          try {
            const v = await read(src.path);
            secrets.set(secretKey(svc.name, s.name), { service: svc.name, name: s.name, source: src, digest: sha256(v, 16), value: new Redacted(v), bytes: Buffer.byteLength(v, "utf8") });
          } catch (e) {
            const refused = secretFileRefusal(svc.name, s.name, e);
            if (refused) {
              // A path outside the app, a FIFO or an oversize file is an error even
              // for a plan: it is never read, so there is nothing to preview.
              diagnostics.push(refused);
              secrets.set(secretKey(svc.name, s.name), { service: svc.name, name: s.name, source: s.source, digest: sha256(`unresolved:${canonicalJson(s.source)}`, 16) });
            } else unresolved(svc.name, s, `cannot read secret file ${src.path}`, "The path is relative to the app file; check that it exists and is readable.");
          }
          break;
        }
        case "aws-secrets-manager":
        case "aws-ssm-parameter":
        case "kubernetes-secret":
          // The backend resolves these natively; rotating the stored value is the
          // store's business, so the reference itself is the identity here.
          secrets.set(secretKey(svc.name, s.name), { service: svc.name, name: s.name, source: src, digest: sha256(canonicalJson(src), 16) });
          break;
        default: {
          const never: never = src;
          throw new Error(`unhandled secret source ${JSON.stringify(never)}`);
        }
      }
    }
  }
  return { secrets, diagnostics };
}

/** Secret file problems that are errors whenever they occur (not just "missing"), as a diagnostic at `services.<svc>.secrets.<name>.fromFile`. */
function secretFileRefusal(service: string, secret: string, e: unknown): Diagnostic | undefined {
  if (!isSdxError(e) || e.code === "SDX_FILE_UNREADABLE") return undefined;
  return { code: e.code, severity: "error", path: formatPath(["services", service, "secrets", secret, "fromFile"]), message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
}

/**
 * Checks every `secrets.*.fromFile` without reading it: inside the app directory
 * (or an allowed one), a regular file, within the 1 MiB read cap. A missing
 * file is not reported here (deploy reports it; a plan may run without it).
 * Returns the error diagnostics and, per `service/secret`, the size in bytes.
 */
export function checkSecretFiles(app: App, access: FileAccess): { diagnostics: Diagnostic[]; bytes: Map<string, number> } {
  const diagnostics: Diagnostic[] = [];
  const bytes = new Map<string, number>();
  for (const svc of app.services) {
    for (const s of svc.secrets) {
      if (s.source.kind !== "file") continue;
      try {
        bytes.set(secretKey(svc.name, s.name), statContainedFile(s.source.path, { ...access, what: "secret file" }).bytes);
      } catch (e) {
        const refused = secretFileRefusal(svc.name, s.name, e);
        if (refused) diagnostics.push(refused);
      }
    }
  }
  return { diagnostics, bytes };
}
