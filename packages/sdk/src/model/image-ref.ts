import type { ImageRef } from "./app.js";

/** Splits `registry/repo:tag@sha256:…` into its parts. Returns undefined when it is not an image reference. */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = /^([a-z0-9][a-z0-9._\-/:]*?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref.trim());
  if (!m || m[1] === undefined) return undefined;
  // A colon followed by digits and a slash is a registry port, not a tag: the regex
  // is lazy on the repository, so re-check that the tag has no '/'.
  return {
    ref,
    repository: m[1],
    ...(m[2] === undefined ? {} : { tag: m[2] }),
    ...(m[3] === undefined ? {} : { digest: m[3] }),
  };
}

/** True when the reference can change under you: no digest pinned. */
export function isMutableImage(image: ImageRef): boolean {
  return image.digest === undefined;
}
