import { formatPath } from "../validation/diagnostic.js";
import { urlPassword } from "./secret-like.js";
import { Split } from "./split-value.js";

/** What an importer does with a password found in a URL. */
export interface UrlPasswordHooks {
  /** The environment variable sdx.yaml reads this password from (reserved by the caller, unique in the app). */
  readonly variable: (password: string) => string;
  /** Reports the credential at the importer's path for the service; `field` is the field inside the written service. */
  readonly report: (field: string, variable: string) => void;
  /** Remembers the value, so that no report, diagnostic or template carries it. */
  readonly secret: (password: string) => void;
}

/**
 * Passwords written in URLs (`postgres://app:pw@db/app`) in commands, args,
 * labels, health checks or file content of an imported service: sdx.yaml reads
 * each from a variable instead (`postgres://app:${URL_PASSWORD}@db/app`). Walks
 * the service's written values; `env`, `secrets` and `image` at its top level
 * are skipped (env entries are judged one by one by the importer; images hold no passwords).
 */
export function guardUrlPasswords(v: unknown, hooks: UrlPasswordHooks, field: (string | number)[] = []): unknown {
  const replace = (written: string): string | undefined => {
    const at = urlPassword(written);
    if (!at) return undefined;
    const password = written.slice(at.start, at.end).replace(/\$\$/g, "$");
    const variable = hooks.variable(password);
    if (password.length >= 4) hooks.secret(password);
    hooks.report(formatPath(field), variable);
    return `${written.slice(0, at.start)}\${${variable}}${written.slice(at.end)}`;
  };
  if (typeof v === "string") {
    const w = replace(v.replace(/\$/g, "$$$$"));
    return w === undefined ? v : new Split(v, w);
  }
  if (v instanceof Split) {
    if (typeof v.written !== "string" || typeof v.value !== "string") return v;
    const w = replace(v.written);
    return w === undefined ? v : new Split(v.value, w);
  }
  if (Array.isArray(v)) return v.map((x, i) => guardUrlPasswords(x, hooks, [...field, i]));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = field.length === 0 && (k === "env" || k === "secrets" || k === "image") ? x : guardUrlPasswords(x, hooks, [...field, k]);
    return out;
  }
  return v;
}
