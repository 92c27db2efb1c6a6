import type { Document, LineCounter } from "yaml";
import type { Diagnostic } from "../validation/diagnostic.js";

/** YAML syntax errors as diagnostics with file, line and column. Shared by the app loader and the importers. */
export function yamlSyntaxDiagnostics(document: Document, lineCounter: LineCounter, fileName: string): Diagnostic[] {
  return document.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    // The yaml package reports a stack overflow on deep nesting as RESOURCE_EXHAUSTION: a limit, not a typo.
    const exhausted = e.code === "RESOURCE_EXHAUSTION";
    return {
      code: exhausted ? "SDX_LIMIT_EXCEEDED" : "SDX_SYNTAX",
      severity: "error" as const,
      path: "",
      message: `${fileName}:${pos.line}:${pos.col}: ${exhausted ? "the document nests too deeply to parse" : e.message.split("\n")[0]}`,
      hint: e.code === "DUPLICATE_KEY" ? "Remove the repeated key." : exhausted ? "Flatten the structure: an app file needs a few levels, not hundreds." : "Check indentation and quoting around that line.",
      line: pos.line,
      column: pos.col,
    };
  });
}
