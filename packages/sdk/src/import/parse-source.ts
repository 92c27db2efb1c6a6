import { isScalar, LineCounter, parseDocument, visit } from "yaml";
import type { Diagnostic } from "../validation/diagnostic.js";
import { yamlSyntaxDiagnostics } from "../load/yaml-syntax-diagnostics.js";

/** Result of {@link parseSourceYaml}. */
export interface ParseSourceYamlResult {
  /** The parsed value, or undefined after a syntax error. */
  readonly value: unknown;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Parses a Compose or Score file the way their Go tooling reads it: YAML 1.2
 * core scalars (`yes` stays a string), `<<` merge keys (Compose fragments),
 * and a plain `0644` read as octal, as go-yaml does for file modes.
 */
export function parseSourceYaml(text: string, fileName: string): ParseSourceYamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const diagnostics = yamlSyntaxDiagnostics(doc, lineCounter, fileName);
  if (diagnostics.length > 0) return { value: undefined, diagnostics };
  visit(doc, {
    Scalar(_key, node) {
      const src = (node.srcToken as { source?: string; type?: string } | undefined);
      if (isScalar(node) && typeof node.value === "number" && src?.type === "scalar" && /^0[0-7]+$/.test(src.source ?? "")) {
        node.value = parseInt(src.source!, 8);
      }
    },
  });
  return { value: doc.toJS({ maxAliasCount: 1000 }) as unknown, diagnostics };
}
