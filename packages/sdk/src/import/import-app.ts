import { detectImportFormat } from "./detect-import-format.js";
import { importCompose, type ImportComposeOptions } from "./import-compose.js";
import type { ImportResult } from "./import-result.js";
import { importScore, type ImportScoreOptions } from "./import-score.js";

/** Options for {@link importApp}: those of both importers, plus the format. */
export interface ImportAppOptions extends ImportComposeOptions, ImportScoreOptions {
  /** Skip detection. @default detected from `fileName` and the content */
  readonly format?: "compose" | "score";
}

/** Result of {@link importApp}: the import and which importer ran. */
export interface ImportAppResult extends ImportResult {
  /** Undefined when the text is an sdx app already, or its format is unknown (see `diagnostics`). */
  readonly format?: "compose" | "score";
}

/**
 * Imports a Compose file or a Score workload, whichever `text` is (see
 * {@link detectImportFormat}). For `sdx import <file>` and `sdx plan -f <file>`.
 * Pure; never throws for bad input.
 */
export function importApp(text: string, options: ImportAppOptions = {}): ImportAppResult {
  const detected = options.format ? { format: options.format, reason: "the format option" } : detectImportFormat(options.fileName, text);
  switch (detected.format) {
    case "compose":
      return { ...importCompose(text, options), format: "compose" };
    case "score":
      return { ...importScore(text, options), format: "score" };
    case "sdx":
      return {
        document: {}, template: {}, report: [],
        diagnostics: [{ code: "SDX_IMPORT_FORMAT", severity: "error", path: "", message: `${options.fileName ?? "the file"} is an sdx app already (${detected.reason})`, hint: "Load it with loadApp / `sdx plan -f` directly." }],
      };
    case undefined:
      return {
        document: {}, template: {}, report: [],
        diagnostics: [{ code: "SDX_IMPORT_FORMAT", severity: "error", path: "", message: `cannot tell whether ${options.fileName ?? "the file"} is a Compose file or a Score workload: ${detected.reason}`, hint: "Name it compose.yaml or score.yaml." }],
      };
    default: {
      const never: never = detected.format;
      throw new Error(`unhandled format ${String(never)}`);
    }
  }
}
