import { formatPath, type Diagnostic } from "../validation/diagnostic.js";

/** Result of {@link interpolate}. */
export interface InterpolateResult {
  readonly value: unknown;
  readonly diagnostics: readonly Diagnostic[];
}

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed document.
 * `$$` stands for a literal `$`. An unset variable without a default is an error
 * at its path, so a typo can't silently deploy an empty value.
 * (`:-` uses the default when unset or empty, `-` only when unset, as in POSIX shells.)
 */
export function interpolate(doc: unknown, env: Readonly<Record<string, string | undefined>>): InterpolateResult {
  const diagnostics: Diagnostic[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === "string") {
      return v.replace(PATTERN, (whole, name: string | undefined, op: string | undefined, def: string | undefined) => {
        if (whole === "$$") return "$";
        const val = env[name!];
        if (op === ":-") return val === undefined || val === "" ? def ?? "" : val;
        if (op === "-") return val === undefined ? def ?? "" : val;
        if (val === undefined) {
          diagnostics.push({
            code: "SDX_ENV_UNSET",
            severity: "error",
            path: formatPath(path),
            message: `environment variable ${name} is not set`,
            hint: `Set ${name}, or give a default: \${${name}:-value}.`,
          });
          return "";
        }
        return val;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  return { value: walk(doc, []), diagnostics };
}
