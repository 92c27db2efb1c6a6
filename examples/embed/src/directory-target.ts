// The "directory" target kind, declared the way every backend declares its
// kind: a zod schema (which gives editors a schema through `sdx schema`), the
// defaults, and which settings are paths. Only zod and @sdx/sdk/target here,
// so validating an app does not load the backend.
import { z } from "zod";
import { defineTargetKind, type Target } from "@sdx/sdk/target";

/** A directory that receives one manifest per service. */
export interface DirectoryTarget extends Target {
  readonly kind: "directory";
  /** Where the manifests go; relative paths are resolved against the app file's directory. */
  readonly path: string;
  /** Indentation of the JSON manifests. @default 2 */
  readonly indent: number;
}

const settings = z.strictObject({
  path: z.string().min(1).describe("Directory the manifests are written to, relative to the app file."),
  indent: z.number().int().min(0).max(8).default(2).describe("Indentation of the JSON manifests."),
}).describe("A directory of JSON manifests, one per service (acme-ship).");

/** The `directory` target kind. */
export const directoryTargetSpec = defineTargetKind<DirectoryTarget, typeof settings>({
  kind: "directory",
  settings,
  normalize: (s, common) => ({ ok: true, target: { ...common, kind: "directory", ...s } }),
  pathSettings: ["path"],
});
