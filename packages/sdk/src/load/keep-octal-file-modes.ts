import { isMap, isScalar, isSeq, Scalar, type Document } from "yaml";

/**
 * YAML 1.2 (the core schema sdx parses with) reads an unquoted `mode: 0644` as
 * the decimal number 644, while Compose, YAML 1.1 and every shell user mean
 * octal 0644. For `services.<s>.files[i].mode` only, a plain scalar written
 * with a leading 0 becomes the string "0644", which validation reads as octal
 * (and refuses when it is not octal, like `09`). Elsewhere numbers stay as written.
 * Mutates `doc` in place; returns how many modes it rewrote.
 */
export function keepOctalFileModes(doc: Document): number {
  let changed = 0;
  const services = isMap(doc.contents) ? doc.contents.get("services", true) : undefined;
  if (!isMap(services)) return 0;
  for (const svc of services.items) {
    if (!isMap(svc.value)) continue;
    const files = svc.value.get("files", true);
    if (!isSeq(files)) continue;
    for (const f of files.items) {
      if (!isMap(f)) continue;
      const pair = f.items.find((p) => isScalar(p.key) && p.key.value === "mode");
      const v = pair?.value;
      if (!pair || !isScalar(v) || v.type !== Scalar.PLAIN || typeof v.value !== "number") continue;
      if (typeof v.source === "string" && /^[-+]?0\d+$/.test(v.source)) {
        v.value = v.source;
        changed++;
      }
    }
  }
  return changed;
}
