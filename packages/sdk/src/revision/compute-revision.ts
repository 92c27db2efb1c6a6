import type { App, Service } from "../model/app.js";
import { secretKey, type ResolvedSecrets } from "../secrets/resolve-secrets.js";
import { canonicalJson, sha256 } from "./canonical-json.js";

/** Content identity of an app and of each of its services. */
export interface AppRevision {
  /** 12 hex characters over the whole app (targets excluded: moving an app does not change what it is). */
  readonly app: string;
  /** 12 hex characters per service, so a change to one service relabels only that service's objects. */
  readonly services: Readonly<Record<string, string>>;
}

/**
 * The normalised form of a service that is hashed: file contents and secret
 * values enter by digest only; `usage` (pricing hints, never deployed) not at
 * all, so refining a hint rolls nothing.
 */
export function serviceIdentity(service: Service, secrets: ResolvedSecrets): unknown {
  const { usage: _usage, ...deployed } = service;
  return {
    ...deployed,
    files: service.files.map((f) => ({ path: f.path, mode: f.mode, sha256: sha256(f.content) })),
    secrets: service.secrets.map((s) => ({ ...s, digest: secrets.get(secretKey(service.name, s.name))?.digest ?? "unresolved" })),
  };
}

/**
 * A stable content hash of the normalised app. Key order, YAML formatting and
 * comments do not change it; any change to a value, a file or a secret does.
 */
export function computeRevision(app: App, secrets: ResolvedSecrets): AppRevision {
  const services: Record<string, string> = {};
  for (const s of app.services) services[s.name] = sha256(canonicalJson(serviceIdentity(s, secrets)), 12);
  return { app: sha256(canonicalJson({ name: app.name, labels: app.labels, services }), 12), services };
}
