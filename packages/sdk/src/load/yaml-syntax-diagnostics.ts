import type { Document, LineCounter } from "yaml";
import type { Diagnostic } from "../validation/diagnostic.js";

/** YAML syntax errors as diagnostics with file, line and column. Shared by the app loader and the importers. */
export function yamlSyntaxDiagnostics(document: Document, lineCounter: LineCounter, fileName: string): Diagnostic[] {
  return document.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return {
      code: "SDX_SYNTAX",
      severity: "error" as const,
      path: "",
      message: `${fileName}:${pos.line}:${pos.col}: ${e.message.split("\n")[0]}`,
      hint: e.code === "DUPLICATE_KEY" ? "Remove the repeated key." : "Check indentation and quoting around that line.",
      line: pos.line,
      column: pos.col,
    };
  });
}
