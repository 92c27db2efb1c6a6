import type { Diagnostic } from "../validation/diagnostic.js";
import type { ImportNote, ImportNoteLevel } from "./import-result.js";

/** Collects notes and diagnostics while an importer walks the source. */
export class ImportReport {
  readonly notes: ImportNote[] = [];
  readonly diagnostics: Diagnostic[] = [];

  note(level: ImportNoteLevel, path: string, reason: string): void {
    this.notes.push({ path, level, reason });
  }
  translated(path: string, reason: string): void {
    this.note("translated", path, reason);
  }
  approximated(path: string, reason: string): void {
    this.note("approximated", path, reason);
  }
  dropped(path: string, reason: string): void {
    this.note("dropped", path, reason);
  }
  ignored(path: string, reason: string): void {
    this.note("ignored", path, reason);
  }
  error(code: string, path: string, message: string, hint?: string): void {
    this.diagnostics.push({ code, severity: "error", path, message, ...(hint ? { hint } : {}) });
  }
  warning(code: string, path: string, message: string, hint?: string): void {
    this.diagnostics.push({ code, severity: "warning", path, message, ...(hint ? { hint } : {}) });
  }
}
