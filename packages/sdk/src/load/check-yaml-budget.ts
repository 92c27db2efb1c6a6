import { isAlias, isCollection, isMap, isPair, isScalar, Lexer, type Document, type LineCounter } from "yaml";
import { LIMITS } from "../model/limits.js";
import type { Diagnostic } from "../validation/diagnostic.js";

// The yaml composer recurses once per nesting level and its CST parser slows
// down sharply on deep flow nesting (a million `[` takes seconds), so text this
// deep is refused before parsing. Measured in columns of indentation plus open
// brackets: a generous over-estimate of the depth, as no real file indents
// content by hundreds of columns.
const PRESCAN_DEPTH = 4 * LIMITS.depth;

/**
 * Refuses text that nests far deeper than {@link LIMITS.depth} before it is
 * parsed: one pass of the yaml lexer (iterative and linear), stopping at the
 * first line whose indentation plus open flow brackets exceeds the budget.
 * Returns an `SDX_LIMIT_EXCEEDED` diagnostic with line and column, or undefined.
 */
export function prescanYamlDepth(text: string, fileName: string): Diagnostic | undefined {
  if (depthBound(text) <= PRESCAN_DEPTH) return undefined;
  let offset = 0;
  let flow = 0;
  let base = 0;
  let col = 0;
  let atLineStart = true;
  for (const tok of new Lexer().lex(text)) {
    const at = offset;
    // Control tokens (document start, scalar marker, flow error end) take no room in the source.
    if (tok.length === 1 && tok < " " && tok !== "\n" && tok !== "\t") continue;
    offset += tok.length;
    if (tok === "\n" || tok === "\r\n") {
      atLineStart = true;
      col = 0;
      continue;
    }
    if (flow === 0 && atLineStart) {
      // Indentation and block indicators (`- `, `? `, `: `) before a line's content: each nesting level needs one.
      if (tok[0] === " " || tok[0] === "\t" || tok === "-" || tok === "?" || tok === ":") {
        col += tok.length;
        if (col <= PRESCAN_DEPTH) continue;
      } else atLineStart = false;
    }
    if (tok === "[" || tok === "{") {
      if (flow === 0) base = col;
      flow++;
    } else if ((tok === "]" || tok === "}") && flow > 0) flow--;
    if ((flow > 0 ? base + flow : col) > PRESCAN_DEPTH) return depthDiagnostic(fileName, text, at);
  }
  return undefined;
}

/**
 * A cheap upper bound of what the lexer pass below can find: the longest run of
 * indentation and block indicators at a line start, plus every `[` and `{` in
 * the text. Most files are far below the budget, and skip lexing twice.
 */
function depthBound(text: string): number {
  let openers = 0;
  let prefix = 0;
  let run = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      atStart = true;
      run = 0;
      continue;
    }
    if (c === 91 || c === 123) openers++; // [ {
    if (atStart) {
      if (c === 32 || c === 9 || c === 45 || c === 63 || c === 58) run++; // space tab - ? :
      else {
        atStart = false;
        if (run > prefix) prefix = run;
      }
    }
  }
  return Math.max(prefix, run) + openers;
}

function depthDiagnostic(fileName: string, text: string, offset: number): Diagnostic {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return {
    code: "SDX_LIMIT_EXCEEDED",
    severity: "error",
    path: "",
    message: `${fileName}:${line}:${column}: the document nests too deeply; sdx reads at most ${LIMITS.depth} levels of maps and lists`,
    hint: "Flatten the structure: an app file needs a few levels, not hundreds.",
    line,
    column,
  };
}

/** Options for {@link checkYamlBudget}. */
export interface CheckYamlBudgetOptions {
  /** Report duplicate keys (for documents parsed with `uniqueKeys: false`). @default true */
  readonly duplicateKeys?: boolean;
}

type Node = NonNullable<Document["contents"]>;
type Frame = { readonly node: unknown; readonly depth: number } | { readonly leave: Node };

/**
 * Checks a parsed YAML document before it is turned into JavaScript, in one
 * iterative walk (no recursion, linear in the document, never expanding an alias):
 * - duplicate keys in a mapping (`SDX_SYNTAX`, as YAML requires unique keys;
 *   done here with a set per mapping, as the yaml package's own check is quadratic);
 * - an alias without an anchor before it (`SDX_SYNTAX`);
 * - at most {@link LIMITS.yamlAliases} aliases, which may add at most
 *   {@link LIMITS.yamlAliasNodes} nodes when expanded (an alias bomb otherwise);
 * - no alias inside its own anchor (a recursive structure);
 * - at most {@link LIMITS.depth} levels of nesting, counting what aliases expand to.
 * Budget problems are `SDX_LIMIT_EXCEEDED` with line and column; the walk stops at the first.
 */
export function checkYamlBudget(document: Document, lineCounter: LineCounter, fileName: string, options: CheckYamlBudgetOptions = {}): Diagnostic[] {
  const checkDuplicates = options.duplicateKeys ?? true;
  const diagnostics: Diagnostic[] = [];
  const at = (node: unknown): { line: number; column: number } => {
    const range = (node as { range?: readonly number[] } | null)?.range;
    const pos = lineCounter.linePos(range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  };
  const limit = (node: unknown, message: string, hint: string): Diagnostic[] => {
    const { line, column } = at(node);
    diagnostics.push({ code: "SDX_LIMIT_EXCEEDED", severity: "error", path: "", message: `${fileName}:${line}:${column}: ${message}`, hint, line, column });
    return diagnostics;
  };

  // Expanded size (nodes) and height (levels of maps and lists) of every finished collection.
  const size = new Map<Node, number>();
  const height = new Map<Node, number>();
  const anchors = new Map<string, Node>();
  const resolved = new Map<unknown, Node>();
  const open = new Set<Node>();
  let aliases = 0;
  let added = 0;
  const stack: Frame[] = [{ node: document.contents, depth: 0 }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    if ("leave" in frame) {
      const node = frame.leave;
      open.delete(node);
      let n = 1;
      let h = 0;
      for (const child of childrenOf(node)) {
        const target = isAlias(child) ? resolved.get(child) : child;
        if (isCollection(target)) {
          n += size.get(target) ?? 1;
          h = Math.max(h, height.get(target) ?? 1);
        } else n += 1;
      }
      size.set(node, n);
      height.set(node, h + 1);
      continue;
    }
    const { node, depth } = frame;
    if (isAlias(node)) {
      if (++aliases > LIMITS.yamlAliases) {
        return limit(node, `more than ${LIMITS.yamlAliases} aliases`, "Repeat fewer values through anchors and aliases.");
      }
      const target = anchors.get(node.source);
      if (target === undefined) {
        const { line, column } = at(node);
        diagnostics.push({
          code: "SDX_SYNTAX", severity: "error", path: "", message: `${fileName}:${line}:${column}: alias *${node.source} has no anchor &${node.source} before it`,
          hint: `Define &${node.source} earlier in the file, or fix the alias name.`, line, column,
        });
        return diagnostics;
      }
      if (!isCollection(target)) continue;
      resolved.set(node, target);
      if (open.has(target)) {
        return limit(node, `alias *${node.source} is used inside its own anchor &${node.source}, which makes an endless structure`, `Move *${node.source} out of the value anchored as &${node.source}.`);
      }
      added += size.get(target) ?? 1;
      if (added > LIMITS.yamlAliasNodes) {
        return limit(node, `aliases expand to more than ${LIMITS.yamlAliasNodes} nodes (at *${node.source}): an alias bomb?`, "Use anchors for small shared blocks; sdx caps what aliases may add to a document.");
      }
      if (depth + (height.get(target) ?? 1) > LIMITS.depth) {
        return limit(node, `alias *${node.source} nests the document deeper than ${LIMITS.depth} levels`, "Flatten the structure: an app file needs a few levels, not dozens.");
      }
      continue;
    }
    if (!isCollection(node)) {
      if (isScalar(node) && node.anchor) anchors.set(node.anchor, node);
      continue;
    }
    if (depth + 1 > LIMITS.depth) {
      return limit(node, `the document nests deeper than ${LIMITS.depth} levels`, "Flatten the structure: an app file needs a few levels, not dozens.");
    }
    // Anchor before contents: an alias inside its own anchor then finds it open.
    if (node.anchor) anchors.set(node.anchor, node);
    open.add(node);
    stack.push({ leave: node });
    const children = childrenOf(node);
    const seen = new Set<unknown>();
    if (checkDuplicates && isMap(node)) for (const item of node.items) {
      if (!isScalar(item.key)) continue;
      if (seen.has(item.key.value)) {
        const { line, column } = at(item.key);
        diagnostics.push({
          code: "SDX_SYNTAX", severity: "error", path: "",
          message: `${fileName}:${line}:${column}: Map keys must be unique`, hint: "Remove the repeated key.", line, column,
        });
      }
      seen.add(item.key.value);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], depth: depth + 1 });
  }
  return diagnostics;
}

/** Child nodes of a collection in document order (a pair gives its key, then its value). */
function childrenOf(node: Node): unknown[] {
  if (!isCollection(node)) return [];
  const out: unknown[] = [];
  for (const item of node.items as unknown[]) {
    if (isPair(item)) {
      if (item.key !== null && item.key !== undefined) out.push(item.key);
      if (item.value !== null && item.value !== undefined) out.push(item.value);
    } else out.push(item);
  }
  return out;
}
