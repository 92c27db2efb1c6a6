import { createHash } from "node:crypto";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True when `s` is a DNS-1123 label of at most 63 characters. */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

/**
 * The closest DNS-1123 label to `s`: lower case, every other character run
 * becomes `-`, capped at `max` characters with a short hash suffix so that two
 * long names that differ only at the end stay distinct.
 */
export function toDnsLabel(s: string, max = 63): string {
  let out = s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (out === "") out = "x";
  if (out.length > max) {
    const hash = createHash("sha256").update(s).digest("hex").slice(0, 6);
    out = `${out.slice(0, max - 7).replace(/-+$/, "")}-${hash}`;
  }
  return out;
}

/** `base`, or `base-2`, `base-3`, … whichever is not in `taken`; adds the result to `taken`. */
export function uniqueLabel(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, 60)}-${i}`;
  taken.add(name);
  return name;
}
