import { lstat, readdir, readFile, readlink, realpath } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import { SdxError, throwIfAborted } from "../errors/sdx-error.js";
import { formatBytes } from "../load/read-contained-file.js";
import { LIMITS } from "../model/limits.js";
import { compileGlob, type GlobMatcher } from "./glob-matcher.js";
import type { TarEntry } from "./tar-writer.js";

/**
 * Left out of every build context unless an `include` pattern names them:
 * - `.git/`: history is not part of the program;
 * - `node_modules/`: dependencies get their own layer (`dependencies: npm-ci` or `copy`);
 * - `.sdx/`: sdx's own state;
 * - `.env`, `.env.*`, `.npmrc`: these usually hold secrets (an `.npmrc` often a
 *   registry token), and anything in an image can be read by everyone who can
 *   pull it; secrets belong in `secrets:` (`.npmrc` is still used by `npm ci`);
 * - `*.log`.
 */
export const DEFAULT_BUILD_EXCLUDES: readonly string[] = [".git/", "node_modules/", ".sdx/", ".env", ".env.*", ".npmrc", "*.log"];

/** Caps on what one walk collects. */
export interface BuildContextLimits {
  /** @default LIMITS.buildFileBytes (256 MiB) */
  readonly maxFileBytes?: number;
  /** @default LIMITS.buildContextBytes (1 GiB) */
  readonly maxTotalBytes?: number;
  /** Files, directories and symlinks. @default LIMITS.buildContextFiles (100,000) */
  readonly maxFiles?: number;
}

/** Options for {@link walkTree}. */
export interface WalkTreeOptions {
  /** Absolute directory to walk. */
  readonly root: string;
  /**
   * How symlinks are kept. `contained`: only when they resolve inside
   * `containRoot` (absolute targets inside are rewritten relative, so the link
   * works wherever the tree lands), else `SDX_BUILD_SYMLINK_OUTSIDE`. `verbatim`:
   * as they are, for a root filesystem whose absolute links mean the image's root.
   * @default "contained"
   */
  readonly symlinks?: "contained" | "verbatim";
  /**
   * `normalized`: owner 0:0 and modes from the kind (see `writeTar`), so the
   * layer does not depend on who checked the files out. `preserved`: each
   * entry's permission bits (setuid, sticky included) and uid/gid as on disk,
   * for a root filesystem. @default "normalized"
   */
  readonly metadata?: "normalized" | "preserved";
  /** Directory symlinks must stay inside. @default root */
  readonly containRoot?: string;
  /** Patterns of what to take; a directory matched takes all inside. @default [] (everything) */
  readonly include?: readonly string[];
  /** Patterns left out; they win over `include`. @default [] */
  readonly exclude?: readonly string[];
  /** Patterns left out unless an explicit `include` names them. @default DEFAULT_BUILD_EXCLUDES */
  readonly defaultExcludes?: readonly string[];
  /** Archive path every entry is put under, e.g. `app`. @default "" (top) */
  readonly prefix?: string;
  readonly limits?: BuildContextLimits;
  /** Where the patterns were written, for errors (e.g. `services.web.build`). */
  readonly buildPath?: string;
  /** What the tree is, for messages. @default "build context" */
  readonly what?: string;
  readonly signal?: AbortSignal;
}

/** What {@link walkTree} collected. */
export interface WalkedTree {
  /** Absolute root, symlinks resolved. */
  readonly root: string;
  /** Archive entries (paths under `prefix`); files are read from disk when the layer is written. */
  readonly entries: readonly TarEntry[];
  /** Relative paths (from `root`) of the regular files taken. */
  readonly files: readonly string[];
  /** Files, directories and symlinks taken. */
  readonly count: number;
  /** Bytes of the regular files taken. */
  readonly bytes: number;
  /** Things skipped (sockets, FIFOs, devices) and kept with a caveat (dangling symlinks). */
  readonly warnings: readonly string[];
}

const isInside = (dir: string, p: string): boolean => {
  const rel = relative(dir, p);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

const toPosix = (p: string): string => (sep === "/" ? p : p.split(sep).join("/"));

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function specialKind(st: Stats): string | undefined {
  if (st.isSocket()) return "a socket";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return undefined;
}

function unreadable(what: string, abs: string, rel: string, cause: unknown, buildPath: string | undefined): SdxError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new SdxError("SDX_FILE_UNREADABLE", `${what}: ${JSON.stringify(rel)} cannot be read (${code ?? "error"})`, {
    fault: "user", cause, ...(buildPath === undefined ? {} : { path: `${buildPath}.exclude` }),
    hint: `Make it readable by the user running sdx, or leave it out with \`exclude: [${JSON.stringify(rel)}]\`.`, details: { file: rel, resolved: abs },
  });
}

/**
 * Walks a directory for a layer: sorted, never following a symlink into a
 * directory, never reading a file (contents are read when the layer is written,
 * with the size checked again). Sockets, FIFOs and devices are skipped with a
 * warning. Throws `SDX_FILE_TOO_LARGE` for a file over `maxFileBytes`,
 * `SDX_BUILD_CONTEXT_TOO_LARGE` past `maxTotalBytes` or `maxFiles`,
 * `SDX_BUILD_SYMLINK_OUTSIDE` for a symlink leaving `containRoot`,
 * `SDX_FILE_UNREADABLE`, and `SDX_BUILD_INVALID_PATTERN`.
 */
export async function walkTree(options: WalkTreeOptions): Promise<WalkedTree> {
  const what = options.what ?? "build context";
  const bp = options.buildPath;
  const root = await realpath(options.root).catch((e: unknown) => {
    throw unreadable(what, options.root, ".", e, bp);
  });
  const containRoot = options.containRoot === undefined ? root : await realpath(options.containRoot);
  const verbatim = options.symlinks === "verbatim";
  const meta = (st: Stats): { mode?: number; uid?: number; gid?: number } => (options.metadata === "preserved" ? { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } : {});
  const maxFileBytes = options.limits?.maxFileBytes ?? LIMITS.buildFileBytes;
  const maxTotalBytes = options.limits?.maxTotalBytes ?? LIMITS.buildContextBytes;
  const maxFiles = options.limits?.maxFiles ?? LIMITS.buildContextFiles;
  const compile = (list: readonly string[] | undefined, key: string): GlobMatcher[] => (list ?? []).map((p) => compileGlob(p, bp === undefined ? undefined : `${bp}.${key}`));
  const includes = compile(options.include, "include");
  const excludes = compile(options.exclude, "exclude");
  const defaults = (options.defaultExcludes ?? DEFAULT_BUILD_EXCLUDES).map((p) => compileGlob(p));
  const explicitIncludes = includes.filter((m) => m.explicit);
  const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const archivePath = (rel: string): string => (prefix === "" ? rel : `${prefix}/${rel}`);

  const entries: TarEntry[] = [];
  const files: string[] = [];
  const warnings: string[] = [];
  let count = 0;
  let bytes = 0;
  const excludeHint = (rel: string): string => `Leave out what the program does not need with \`exclude:\` (e.g. \`exclude: [${JSON.stringify(rel.includes("/") ? `${rel.slice(0, rel.indexOf("/"))}/` : rel)}]\`), or list what it needs with \`include:\`.`;
  const tooMany = (rel: string): SdxError => new SdxError("SDX_BUILD_CONTEXT_TOO_LARGE", `${what} ${root} has more than ${maxFiles} files, directories and symlinks (reached at ${JSON.stringify(rel)})`, {
    fault: "user", ...(bp === undefined ? {} : { path: bp }), hint: excludeHint(rel), details: { file: rel, limitFiles: maxFiles },
  });

  const take = (): void => {
    count++;
  };

  async function walk(dirAbs: string, dirRel: string, included: boolean): Promise<void> {
    throwIfAborted(options.signal);
    let names: string[];
    try {
      names = await readdir(dirAbs);
    } catch (e) {
      throw unreadable(what, dirAbs, dirRel === "" ? "." : dirRel, e, bp);
    }
    names.sort(byBytes);
    for (const name of names) {
      const abs = join(dirAbs, name);
      const rel = dirRel === "" ? name : `${dirRel}/${name}`;
      let st: Stats;
      try {
        st = await lstat(abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // removed while walking: nothing to ship
        throw unreadable(what, abs, rel, e, bp);
      }
      const isDir = st.isDirectory();
      if (excludes.some((m) => m.test(rel, isDir))) continue;
      if (defaults.some((m) => m.test(rel, isDir)) && !explicitIncludes.some((m) => m.test(rel, isDir))) continue;
      const here = included || includes.length === 0 || includes.some((m) => m.test(rel, isDir));
      if (isDir) {
        if (here) {
          take();
          if (count > maxFiles) throw tooMany(rel);
          entries.push({ kind: "dir", path: archivePath(rel), ...meta(st) });
        }
        await walk(abs, rel, here);
        continue;
      }
      if (!here) continue;
      const special = specialKind(st);
      if (special !== undefined) {
        warnings.push(`skipped ${JSON.stringify(rel)} in the ${what}: it is ${special}, not a file`);
        continue;
      }
      take();
      if (count > maxFiles) throw tooMany(rel);
      if (st.isSymbolicLink()) {
        entries.push({ kind: "symlink", path: archivePath(rel), target: verbatim ? await readlink(abs) : await containedTarget(abs, rel), ...meta(st) });
        continue;
      }
      if (st.size > maxFileBytes) {
        throw new SdxError("SDX_FILE_TOO_LARGE", `${what}: ${JSON.stringify(rel)} is ${formatBytes(st.size)}, larger than ${formatBytes(maxFileBytes)}, the most sdx puts in an image per file`, {
          fault: "user", ...(bp === undefined ? {} : { path: bp }), hint: `Large data belongs in a volume or object storage, not the image. ${excludeHint(rel)}`, details: { file: rel, bytes: st.size, limitBytes: maxFileBytes },
        });
      }
      bytes += st.size;
      if (bytes > maxTotalBytes) {
        throw new SdxError("SDX_BUILD_CONTEXT_TOO_LARGE", `${what} ${root} holds more than ${formatBytes(maxTotalBytes)} of files (reached at ${JSON.stringify(rel)})`, {
          fault: "user", ...(bp === undefined ? {} : { path: bp }), hint: excludeHint(rel), details: { file: rel, limitBytes: maxTotalBytes },
        });
      }
      files.push(rel);
      entries.push({ kind: "file", path: archivePath(rel), source: abs, size: st.size, executable: (st.mode & 0o111) !== 0, ...meta(st) });
    }
  }

  /** The link's target as archived, after checking it stays inside `containRoot`. */
  async function containedTarget(abs: string, rel: string): Promise<string> {
    let target: string;
    try {
      target = await readlink(abs);
    } catch (e) {
      throw unreadable(what, abs, rel, e, bp);
    }
    const lexical = resolve(dirname(abs), target);
    let real: string | undefined;
    try {
      real = await realpath(lexical);
    } catch {
      real = undefined;
    }
    const outside = (): SdxError => new SdxError("SDX_BUILD_SYMLINK_OUTSIDE", `${what}: symlink ${JSON.stringify(rel)} points to ${JSON.stringify(target)}, outside ${containRoot}`, {
      fault: "user", path: rel,
      hint: `The image would get a link to a file that is not in it (and sdx does not read outside the ${what}). Copy the target into the ${what}, replace the link with the file, or leave it out with \`exclude: [${JSON.stringify(rel)}]\`.`,
      details: { file: rel, target, ...(real === undefined ? {} : { resolved: real }) },
    });
    if (real === undefined) {
      if (!isInside(containRoot, lexical)) throw outside();
      warnings.push(`symlink ${JSON.stringify(rel)} in the ${what} points to ${JSON.stringify(target)}, which does not exist`);
      return isAbsolute(target) ? toPosix(relative(dirname(abs), lexical)) || "." : toPosix(target);
    }
    if (!isInside(containRoot, real)) throw outside();
    if (!isAbsolute(target) && isInside(containRoot, lexical)) return toPosix(target);
    // An absolute target (or one that only gets back in through another link) is made
    // relative, so it means the same inside the image as on this machine.
    return toPosix(relative(dirname(abs), isInside(containRoot, lexical) ? lexical : real)) || ".";
  }

  await walk(root, "", false);
  return { root, entries, files, count, bytes, warnings };
}

/** Options for {@link collectBuildContext}. */
export interface CollectBuildContextOptions {
  /** Absolute directory holding the source (the caller checked it is inside the app's directory). */
  readonly context: string;
  /** The program the image runs, relative to `context`. */
  readonly entry: string;
  /** @default [] (everything) */
  readonly include?: readonly string[];
  /** @default [] */
  readonly exclude?: readonly string[];
  /** Archive path the files go under (the image's working directory without the leading `/`). @default "app" */
  readonly prefix?: string;
  readonly limits?: BuildContextLimits;
  /** Where `entry` was written, for `SDX_BUILD_NO_ENTRY`. @default "build.entry" */
  readonly entryPath?: string;
  /** Where the build spec was written, for other errors. @default `entryPath` without `.entry` */
  readonly buildPath?: string;
  readonly signal?: AbortSignal;
}

/** The app files of an image, as {@link collectBuildContext} found them. */
export interface BuildContext extends WalkedTree {
  /** `entry` normalised: relative, `/`-separated, no leading `./`. */
  readonly entry: string;
}

const ENTRY_EXTENSIONS = /\.(?:js|mjs|cjs|ts|mts|cts)$/;

/**
 * Collects the app files of an image from a build context: every file unless
 * `include` narrows it, minus `exclude` and {@link DEFAULT_BUILD_EXCLUDES}
 * (`.env` files are left out so that secrets are not baked into an image by
 * accident; an `include` pattern naming them, e.g. `.env.production`, takes them
 * anyway). Nothing is read outside the context: symlinks leaving it are refused
 * (`SDX_BUILD_SYMLINK_OUTSIDE`). Checks that `entry` is one of the files taken
 * (`SDX_BUILD_NO_ENTRY`, with the candidates found at the top in the hint).
 */
export async function collectBuildContext(options: CollectBuildContextOptions): Promise<BuildContext> {
  const entryPath = options.entryPath ?? "build.entry";
  const buildPath = options.buildPath ?? (entryPath.endsWith(".entry") ? entryPath.slice(0, -".entry".length) : undefined);
  const tree = await walkTree({
    root: options.context,
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    prefix: options.prefix ?? "app",
    ...(options.limits ? { limits: options.limits } : {}),
    ...(buildPath === undefined ? {} : { buildPath }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const entry = options.entry.replace(/\\/g, "/").replace(/^(?:\.\/)+/, "");
  const prefix = (options.prefix ?? "app").replace(/^\/+|\/+$/g, "");
  const archived = prefix === "" ? entry : `${prefix}/${entry}`;
  const found = tree.entries.find((e) => e.path === archived);
  if (found === undefined || found.kind === "dir" || posix.isAbsolute(entry) || entry.split("/").includes("..")) {
    throw await noEntry(options, tree, entry, entryPath);
  }
  return { ...tree, entry };
}

async function noEntry(options: CollectBuildContextOptions, tree: WalkedTree, entry: string, entryPath: string): Promise<SdxError> {
  const top = tree.files.filter((f) => !f.includes("/") && ENTRY_EXTENSIONS.test(f));
  // Read only when it was collected as a regular file: a package.json symlink could lead out.
  const main = tree.files.includes("package.json") ? await packageMain(tree.root) : undefined;
  const candidates = [...new Set([...(main !== undefined && tree.files.includes(main) ? [main] : []), ...top])].slice(0, 10);
  let why = "does not exist";
  if (posix.isAbsolute(entry) || entry.split("/").includes("..")) why = "is not inside the build context";
  else {
    const st = await lstat(join(tree.root, entry)).catch(() => undefined);
    if (st?.isDirectory() === true) why = "is a directory";
    else if (st !== undefined) why = "is left out by `include`/`exclude` (or the default excludes)";
  }
  return new SdxError("SDX_BUILD_NO_ENTRY", `entry ${JSON.stringify(options.entry)} ${why} in the build context ${tree.root}`, {
    fault: "user", path: entryPath,
    hint: candidates.length > 0
      ? `Set the entry to the file that starts the program, relative to the context; candidates at its top: ${candidates.join(", ")}.`
      : "Set the entry to the file that starts the program, relative to the context (e.g. `dist/server.js` after compiling TypeScript).",
    details: { entry: options.entry, context: tree.root, candidates },
  });
}

/** package.json's `main`, when it names a file. */
async function packageMain(root: string): Promise<string | undefined> {
  try {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { main?: unknown };
    return typeof pkg.main === "string" ? pkg.main.replace(/^(?:\.\/)+/, "") : undefined;
  } catch {
    return undefined;
  }
}
