import { isScalar, LineCounter, parseDocument, visit } from "yaml";
import type { Diagnostic } from "../validation/diagnostic.js";
import { yamlSyntaxDiagnostics } from "../load/yaml-syntax-diagnostics.js";
import { checkYamlBudget, prescanYamlDepth } from "../load/check-yaml-budget.js";
import { scanInput } from "../validation/scan-input.js";

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
  // The parse budgets of sdx.yaml (nesting depth, aliases and what they expand to): an alias
  // bomb, a recursive anchor or a million brackets is SDX_LIMIT_EXCEEDED, not a crash or a hang.
  const tooDeep = prescanYamlDepth(text, fileName);
  if (tooDeep) return { value: undefined, diagnostics: [tooDeep] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const diagnostics = yamlSyntaxDiagnostics(doc, lineCounter, fileName);
  if (diagnostics.length > 0) return { value: undefined, diagnostics };
  const budget = checkYamlBudget(doc, lineCounter, fileName, { duplicateKeys: false });
  if (budget.length > 0) return { value: undefined, diagnostics: budget };
  visit(doc, {
    Scalar(_key, node) {
      const src = (node.srcToken as { source?: string; type?: string } | undefined);
      if (isScalar(node) && typeof node.value === "number" && src?.type === "scalar" && /^0[0-7]+$/.test(src.source ?? "")) {
        node.value = parseInt(src.source!, 8);
      }
    },
  });
  // The budget above bounds aliases; yaml's own count would refuse an anchor merged into 1,001 services.
  const value = doc.toJS({ maxAliasCount: -1 }) as unknown;
  // A `__proto__` key would vanish in the importers' plain objects (and `constructor`
  // shadows a built-in): refuse reserved keys here, at their path in the source file.
  const reserved = scanInput(value).filter((d) => d.code === "SDX_RESERVED_KEY");
  if (reserved.length > 0) return { value: undefined, diagnostics: reserved };
  return { value, diagnostics };
}
