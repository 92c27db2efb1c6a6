import { SdxError } from "../errors/sdx-error.js";
import type { Platform } from "../image/pull-image.js";

/** Node's name (`process.arch`, npm's `--cpu`) for the image architectures sdx builds for. */
export type NodeArch = "x64" | "arm64";

/**
 * Node's architecture name for an OCI platform: `amd64` → `x64`, `arm64` →
 * `arm64`. Other platforms are refused with `SDX_BUILD_UNSUPPORTED_PLATFORM`
 * (fault user): the runtime and native dependencies are fetched for these two only.
 */
export function nodeArchOf(platform: Platform, path?: string): NodeArch {
  if (platform.os === "linux" && platform.architecture === "amd64") return "x64";
  if (platform.os === "linux" && platform.architecture === "arm64") return "arm64";
  const name = `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
  throw new SdxError("SDX_BUILD_UNSUPPORTED_PLATFORM", `sdx builds Node images for linux/amd64 and linux/arm64, not ${name}`, {
    fault: "user", ...(path === undefined ? {} : { path }), hint: "Set placement.arch to amd64 or arm64, or use a base image that has that platform.", details: { platform: name },
  });
}
