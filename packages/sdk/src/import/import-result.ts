import type { Diagnostic } from "../validation/diagnostic.js";

/**
 * What became of one key of the imported file:
 * `translated` — carried over with the same meaning (listed only when the mapping is not obvious);
 * `approximated` — carried over, but the behaviour differs in a way the user should check;
 * `dropped` — meaningful in the source, with no equivalent in the sdx model;
 * `ignored` — irrelevant to sdx by design (extensions, networks, inactive profiles).
 */
export type ImportNoteLevel = "translated" | "approximated" | "dropped" | "ignored";

/** One line of an import report. */
export interface ImportNote {
  /** Dotted path into the source file, e.g. `services.db.build`. */
  readonly path: string;
  readonly level: ImportNoteLevel;
  /** Why, and what to do about it. */
  readonly reason: string;
}

/** Options shared by every importer. I/O is injected, so importers stay pure. */
export interface ImportOptions {
  /** Name of the source file, for messages and the default app name. @default undefined */
  readonly fileName?: string;
  /** Directory that relative paths in the source resolve against (and the default app name). @default undefined (paths passed to `readFile` as written) */
  readonly baseDir?: string;
  /** Reads a file (env_file, bind-mounted file, `.env`); given a path joined to `baseDir`. Without it, such files are reported unreadable. @default undefined */
  readonly readFile?: (path: string) => string;
  /**
   * Targets written into the document, replacing the default (`swarm: {kind: swarm}`
   * for Compose, `kubernetes: {kind: kubernetes}` for Score). Pass `{}` for none.
   * @default one target of the format's natural kind
   */
  readonly targets?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * Result of an importer: the `sdx.yaml` document, what happened to every key,
 * and problems with the input itself.
 */
export interface ImportResult {
  /**
   * The app in the authoring format of `sdx.yaml`, as a plain object holding
   * final values: pass it to `validateApp` as is (no interpolation step).
   * `toSdxYaml` escapes `$` so that loading the written file gives the same values.
   */
  readonly document: Record<string, unknown>;
  /** Every key that did not translate one to one, in source order, with its path and the reason. */
  readonly report: readonly ImportNote[];
  /** Problems with the source (syntax, unset required variables, unreadable files); `error` means the document is incomplete. */
  readonly diagnostics: readonly Diagnostic[];
}
