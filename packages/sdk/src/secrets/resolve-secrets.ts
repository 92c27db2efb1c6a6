import { readFile } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import type { App, SecretMount, SecretSource } from "../model/app.js";
import { canonicalJson, sha256 } from "../revision/canonical-json.js";
import type { Diagnostic } from "../validation/diagnostic.js";
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
}

/** Secrets keyed by `service/secret`. */
export type ResolvedSecrets = ReadonlyMap<string, ResolvedSecret>;

/** Options for {@link resolveSecrets}. */
export interface ResolveSecretsOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory `fromFile` paths resolve against. @default process.cwd() */
  readonly baseDir?: string;
  /** Injected for tests. @default fs.readFile */
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
  const read = options.readFile ?? ((p: string) => readFile(p, "utf8"));
  const baseDir = options.baseDir ?? process.cwd();
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
          else secrets.set(secretKey(svc.name, s.name), { service: svc.name, name: s.name, source: src, digest: sha256(v, 16), value: new Redacted(v) });
          break;
        }
        case "file": {
          try {
            const v = await read(resolvePath(baseDir, src.path));
            secrets.set(secretKey(svc.name, s.name), { service: svc.name, name: s.name, source: src, digest: sha256(v, 16), value: new Redacted(v) });
          } catch {
            unresolved(svc.name, s, `cannot read secret file ${src.path}`, "The path is relative to the app file; check that it exists and is readable.");
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
