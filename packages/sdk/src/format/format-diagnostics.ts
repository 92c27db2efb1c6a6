import type { Diagnostic } from "../validation/diagnostic.js";

/** One diagnostic per block: `error SDX_CODE at path (line:col): message` then the hint. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], file?: string): string {
  return diagnostics
    .map((d) => {
      const where = [d.path || undefined, d.line !== undefined ? `${file ? `${file}:` : "line "}${d.line}:${d.column ?? 1}` : undefined].filter(Boolean).join(" ");
      const head = `${d.severity} ${d.code}${where ? ` at ${where}` : ""}${d.target ? ` [${d.target}]` : ""}: ${d.message}`;
      return d.hint ? `${head}\n    hint: ${d.hint}` : head;
    })
    .join("\n");
}
