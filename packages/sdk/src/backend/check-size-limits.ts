import { formatBytes } from "../load/read-contained-file.js";
import type { App, SecretMount, Target } from "../model/app.js";
import { secretKey } from "../secrets/resolve-secrets.js";
import { formatPath, type Diagnostic } from "../validation/diagnostic.js";
import type { Backend, SizeLimit } from "./backend.js";

const HINT = "Make it smaller, or ship it in the image or on a volume instead; the limit is the backend's, so another target may take it.";

const secretPath = (service: string, s: SecretMount): string =>
  formatPath(["services", service, "secrets", s.name, s.source.kind === "file" ? "fromFile" : s.source.kind === "env" ? "fromEnv" : ""].filter((x) => x !== ""));

/**
 * Files and secrets larger than the target's backend can deliver
 * ({@link BackendCapabilities.sizeLimits}), as `SDX_FILE_TOO_LARGE` errors that
 * name the limit, the backend and the target. Pure: secret sizes come in
 * `secretBytes`, keyed by `secretKey(service, secret)`; secrets of unknown size
 * are skipped.
 */
export function checkSizeLimits(
  app: App, target: Target, backend: Pick<Backend, "kind" | "displayName" | "capabilities">, secretBytes: ReadonlyMap<string, number>,
): Diagnostic[] {
  const limits = backend.capabilities.sizeLimits;
  if (!limits) return [];
  const out: Diagnostic[] = [];
  const who = `target "${target.name}" (${backend.displayName})`;
  const over = (path: string, what: string, bytes: number, limit: SizeLimit, how: string): void => {
    out.push({
      code: "SDX_FILE_TOO_LARGE", severity: "error", path, target: target.name, hint: HINT,
      message: `${what} is ${formatBytes(bytes)}, over the limit of ${who}: it ${how} ${limit.holder}, which holds at most ${formatBytes(limit.bytes)}`,
    });
  };
  for (const svc of app.services) {
    const before = out.length;
    const sizes = svc.files.map((f) => Buffer.byteLength(f.content, "utf8"));
    svc.files.forEach((f, i) => {
      if (limits.file && sizes[i]! > limits.file.bytes) {
        const inline = f.origin === "inline";
        over(formatPath(["services", svc.name, "files", i, inline ? "content" : "fromFile"]), inline ? `the content of ${f.path}` : `file "${f.origin}"`, sizes[i]!, limits.file, "stores each file in");
      }
    });
    const filesTotal = sizes.reduce((a, b) => a + b, 0);
    // One message per service: a total over the limit says nothing new when a single file already is.
    if (out.length === before && limits.filesPerService && filesTotal > limits.filesPerService.bytes) {
      over(formatPath(["services", svc.name, "files"]), `the files of service ${svc.name} together`, filesTotal, limits.filesPerService, "stores a service's files together in");
    }
    const beforeSecrets = out.length;
    let secretsTotal = 0;
    for (const s of svc.secrets) {
      const bytes = secretBytes.get(secretKey(svc.name, s.name));
      if (bytes === undefined) continue;
      secretsTotal += bytes;
      if (limits.secret && bytes > limits.secret.bytes) over(secretPath(svc.name, s), `secret "${s.name}"`, bytes, limits.secret, "stores each secret in");
    }
    if (out.length === beforeSecrets && limits.secretsPerService && secretsTotal > limits.secretsPerService.bytes) {
      over(formatPath(["services", svc.name, "secrets"]), `the secrets of service ${svc.name} together`, secretsTotal, limits.secretsPerService, "stores a service's secrets together in");
    }
  }
  return out;
}
