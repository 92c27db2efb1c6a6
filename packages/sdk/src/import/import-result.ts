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
  /**
   * Reads a file (env_file, bind-mounted file, `.env`, file-based configs); given a path joined to
   * `baseDir`. The importers read nothing else. Pass a contained reader (`containedTextReader`):
   * its refusals (`SDX_PATH_OUTSIDE_APP`, `SDX_FILE_NOT_REGULAR`, `SDX_FILE_TOO_LARGE`,
   * `SDX_INVALID_ENCODING`) become error diagnostics at the path that named the file.
   * Without it, such files are reported unreadable. @default undefined
   */
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
   * final values, as Compose would run them: pass it to `validateApp` as is (no
   * interpolation step). It holds the values of the variables the source reads
   * and its credential literals, so never print or write it: that is what
   * `template` is for.
   */
  readonly document: Record<string, unknown>;
  /**
   * The same app as `sdx.yaml` holds it, and as `toSdxYaml` and `sdx import --json`
   * write it: strings in sdx interpolation syntax (`$$` for a literal `$`),
   * variables from the environment or `.env` kept as `${VAR}` references (values
   * only with `inlineEnv`, and never for secret-looking ones), secret-looking
   * variables and credential literals as `secrets` entries read from the
   * environment at deploy time. Interpolated with the import's variables, it
   * gives `document`, except that `document` keeps credential literals where
   * the source has them.
   */
  readonly template: Record<string, unknown>;
  /** Every key that did not translate one to one, in source order, with its path and the reason. */
  readonly report: readonly ImportNote[];
  /** Problems with the source (syntax, unset required variables, unreadable files); `error` means the document is incomplete. */
  readonly diagnostics: readonly Diagnostic[];
}
