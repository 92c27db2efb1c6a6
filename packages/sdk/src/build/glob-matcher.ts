import { SdxError } from "../errors/sdx-error.js";

/** A compiled `include`/`exclude` pattern. */
export interface GlobMatcher {
  /** The pattern as written. */
  readonly pattern: string;
  /**
   * True when the last segment names something (`.env`, `.env.*`, `*.log`) rather
   * than being only wildcards (`**`, `src/*`): such a pattern in `include` lifts a
   * default exclude, a catch-all never does.
   */
  readonly explicit: boolean;
  /** Whether a path relative to the context (`/`-separated, no trailing `/`) matches. */
  test(path: string, isDir: boolean): boolean;
}

const escapeRe = (s: string): string => s.replace(/[.+^${}()|[\]\\]/g, "\\$&");

function segmentRe(seg: string): string {
  let out = "";
  for (const ch of seg) out += ch === "*" ? "[^/]*" : ch === "?" ? "[^/]" : escapeRe(ch);
  return out;
}

/**
 * Compiles a glob pattern, gitignore-style:
 * - `*` matches within one path segment (dot files included), `?` one character
 *   except `/`, `**` any number of whole segments (zero included);
 * - a trailing `/` matches only directories (and so everything under them);
 * - a pattern with no other `/` matches at any depth (`*.log`, `node_modules/`),
 *   one with a `/` (or a leading `/`) is relative to the context's top.
 * Matching a directory matches everything inside it; callers check ancestors.
 * Throws `SDX_BUILD_INVALID_PATTERN` (fault user, `path`) for an empty pattern
 * or one with a `..` segment.
 */
export function compileGlob(pattern: string, path?: string): GlobMatcher {
  let p = pattern.trim();
  const bad = (why: string): SdxError => new SdxError("SDX_BUILD_INVALID_PATTERN", `Pattern ${JSON.stringify(pattern)} ${why}`, {
    fault: "user", ...(path === undefined ? {} : { path }), hint: "Patterns are relative to the build context, e.g. `src/**`, `*.test.js`, `fixtures/`.", details: { pattern },
  });
  let anchored = false;
  while (p.startsWith("./")) p = p.slice(2);
  if (p.startsWith("/")) {
    anchored = true;
    p = p.replace(/^\/+/, "");
  }
  const dirOnly = p.endsWith("/");
  p = p.replace(/\/+$/, "");
  if (p === "") throw bad("is empty");
  if (p.includes("\0")) throw bad("contains a NUL byte");
  const segs = p.split("/").filter((s) => s !== "" && s !== ".");
  if (segs.some((s) => s === "..")) throw bad("leaves the build context (`..`)");
  if (segs.length > 1) anchored = true;
  let re = anchored ? "^" : "^(?:.*/)?";
  let needSep = false;
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    if (seg === "**") {
      if (last) re += needSep ? "(?:/.*)?" : ".*";
      else re += needSep ? "/(?:.*/)?" : "(?:.*/)?";
      needSep = false;
      return;
    }
    re += (needSep ? "/" : "") + segmentRe(seg);
    needSep = true;
  });
  const rx = new RegExp(`${re}$`, "s");
  const lastSeg = segs[segs.length - 1] ?? "";
  return {
    pattern,
    // Only a name without wildcards lifts a default exclude: `*.*`, `.*` or `**/*.*` must not ship .env or .npmrc.
    explicit: lastSeg !== "" && !/[*?[\]]/.test(lastSeg),
    test: (rel, isDir) => (!dirOnly || isDir) && rx.test(rel),
  };
}
