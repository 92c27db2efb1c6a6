/** How bad a diagnostic is. Only `error` blocks a plan or deploy. */
export type Severity = "error" | "warning" | "info";

/** One problem found in an app or target, with where it is and how to fix it. */
export interface Diagnostic {
  /** Stable code, e.g. `SDX_UNKNOWN_KEY`. */
  readonly code: string;
  readonly severity: Severity;
  /** Dotted path into the input, e.g. `services.web.ports[0].port`; empty for the whole document. */
  readonly path: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint?: string;
  /** Did-you-mean candidates, best first. */
  readonly suggestions?: readonly string[];
  /** 1-based line and column in the source file, when known. */
  readonly line?: number;
  readonly column?: number;
  /** The target this diagnostic is about, for backend checks. */
  readonly target?: string;
}

/** Renders a path segment list as `a.b[0].c`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Orders diagnostics by severity, then path, so output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  return [...diagnostics].sort(
    (a, b) => rank[a.severity] - rank[b.severity] || a.path.localeCompare(b.path) || a.code.localeCompare(b.code),
  );
}
