/** The Engine API version sdx is written against (Docker 20.10, Debian bookworm's docker.io). */
export const BASE_API_VERSION = "1.41";
/** The newest Engine API version sdx knows; newer engines are spoken to at this version. */
export const MAX_API_VERSION = "1.47";

/** Compares dotted API versions numerically. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
