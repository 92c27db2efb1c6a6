import type { z } from "zod";
import { didYouMean } from "../util/did-you-mean.js";
import { formatPath, type Diagnostic } from "./diagnostic.js";
import type { LimitIssueParams } from "../model/app-schema.js";

type Schema = z.core.$ZodType;
type Def = { type: string; shape?: Record<string, Schema>; element?: Schema; valueType?: Schema; innerType?: Schema; options?: Schema[]; in?: Schema };

/** The object keys a schema accepts at `path`, for did-you-mean on unknown keys. */
export function knownKeysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
  const found: string[] = [];
  const walk = (s: Schema | undefined, rest: readonly PropertyKey[]): void => {
    if (!s) return;
    const def = (s as unknown as { _zod: { def: Def } })._zod.def;
    switch (def.type) {
      case "optional":
      case "default":
      case "nullable":
      case "readonly":
      case "catch":
      case "prefault":
        return walk(def.innerType, rest);
      case "pipe":
        return walk(def.in, rest);
      case "union":
        for (const o of def.options ?? []) walk(o, rest);
        return;
      case "object":
        if (rest.length === 0) found.push(...Object.keys(def.shape ?? {}));
        else walk(def.shape?.[String(rest[0])], rest.slice(1));
        return;
      case "array":
        if (rest.length > 0) walk(def.element, rest.slice(1));
        return;
      case "record":
        if (rest.length > 0) walk(def.valueType, rest.slice(1));
        return;
      default:
        return;
    }
  };
  walk(schema, path);
  return [...new Set(found)];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

function typeName(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Turns zod issues into sdx diagnostics: stable codes, paths like
 * `services.web.ports[0].port`, and did-you-mean for misspelt keys and enum values.
 */
export function zodIssuesToDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  schema: Schema,
  input: unknown,
  prefix: readonly (string | number)[] = [],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const segs = [...prefix, ...(issue.path as (string | number)[])];
    const path = formatPath(segs);
    const actual = valueAt(input, issue.path);
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = knownKeysAt(schema, issue.path);
        for (const key of issue.keys) {
          const suggestions = didYouMean(key, known);
          out.push({
            code: "SDX_UNKNOWN_KEY",
            severity: "error",
            path: formatPath([...segs, key]),
            message: `unknown key "${key}"`,
            hint: suggestions.length > 0 ? `Did you mean "${suggestions[0]}"?` : `Allowed keys here: ${known.join(", ")}.`,
            ...(suggestions.length > 0 ? { suggestions } : {}),
          });
        }
        break;
      }
      case "invalid_type":
        out.push(
          actual === undefined
            ? { code: "SDX_MISSING", severity: "error", path, message: `"${String(segs.at(-1))}" is required`, hint: `Add ${path} (${issue.expected}).` }
            : { code: "SDX_WRONG_TYPE", severity: "error", path, message: `expected ${issue.expected}, got ${typeName(actual)}` },
        );
        break;
      case "invalid_union": {
        // When the value has the right type for exactly one option (a port as a mapping,
        // not a number), that option's own issues say what is wrong, at their path.
        const fitting = issue.errors.filter((branch) => branch.length > 0 && !branch.some((i) => i.code === "invalid_type" && i.path.length === 0));
        if (fitting.length === 1) {
          out.push(...zodIssuesToDiagnostics(fitting[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] })), schema, input, prefix));
          break;
        }
        out.push({ code: "SDX_WRONG_TYPE", severity: "error", path, message: `${typeName(actual)} is not accepted here`, hint: issue.message });
        break;
      }
      case "too_small":
      case "too_big": {
        const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
        const what = issue.origin === "string" ? "length" : issue.origin === "array" ? "number of items" : "value";
        const rel = issue.code === "too_small" ? (issue.inclusive === false ? ">" : "≥") : issue.inclusive === false ? "<" : "≤";
        out.push({
          code: "SDX_OUT_OF_RANGE",
          severity: "error",
          path,
          message: issue.origin === "number" || issue.origin === "int" ? `must be ${rel} ${String(bound)}, got ${JSON.stringify(actual)}` : `${what} must be ${rel} ${String(bound)}`,
        });
        break;
      }
      case "invalid_value": {
        const values = issue.values.map(String);
        const suggestions = typeof actual === "string" ? didYouMean(actual, values) : [];
        out.push({
          code: "SDX_INVALID_VALUE",
          severity: "error",
          path,
          message: `${typeName(actual)} is not one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
          ...(suggestions.length > 0 ? { hint: `Did you mean "${suggestions[0]}"?`, suggestions } : {}),
        });
        break;
      }
      case "invalid_key":
        out.push({
          code: "SDX_INVALID_NAME",
          severity: "error",
          path,
          message: `name "${String(segs.at(-1))}" is invalid: ${issue.issues[0]?.message ?? issue.message}`,
          hint: "Use lower-case letters, digits and '-', at most 63 characters, e.g. \"my-service\".",
        });
        break;
      case "invalid_format":
        out.push({ code: "SDX_INVALID_FORMAT", severity: "error", path, message: `${typeName(actual)} ${issue.message}` });
        break;
      case "custom": {
        // A documented limit (see model/limits.ts): told apart by its params, never by its message.
        const limit = issue.params as Partial<LimitIssueParams> | undefined;
        if (limit?.limit !== undefined && limit.max !== undefined) {
          out.push({
            code: "SDX_LIMIT_EXCEEDED",
            severity: "error",
            path,
            message: limit.measure === "value" ? `${String(limit.actual)} is over the limit of ${limit.max} ${limit.unit ?? ""}`.trimEnd() : `${String(limit.actual)} ${limit.unit ?? "items"}; the limit is ${limit.max}`,
            ...(limit.hint ? { hint: limit.hint } : {}),
          });
        } else out.push({ code: "SDX_INVALID", severity: "error", path, message: issue.message });
        break;
      }
      default:
        out.push({ code: "SDX_INVALID", severity: "error", path, message: issue.message });
    }
  }
  return out;
}
