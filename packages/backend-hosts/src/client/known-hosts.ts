import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** One usable line of an OpenSSH known_hosts file (`@cert-authority` lines and malformed lines are dropped). */
export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  readonly line: number;
  /** `@revoked`: this key must be refused for every host the line matches. */
  readonly revoked: boolean;
  /** The host field: comma-separated patterns (`*`, `?`, `!negation`, `[host]:port`), or one hashed `|1|salt|hash` name. */
  readonly hosts: string;
  /** Key type as written, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The public key blob (SSH wire format), decoded from base64. */
  readonly key: Buffer;
}

/** What the presented host key is, measured against the fingerprints and known_hosts. */
export type HostKeyVerdict =
  | { readonly kind: "trusted"; readonly fingerprint: string }
  /** Nothing is known for this host: sdx never trusts on first use. */
  | { readonly kind: "unknown"; readonly fingerprint: string }
  /** Other keys are known for this host (possible man-in-the-middle). `expected` are their fingerprints. */
  | { readonly kind: "mismatch"; readonly fingerprint: string; readonly expected: readonly string[]; readonly source: "fingerprints" | "known_hosts" }
  /** The key is listed under `@revoked` for this host. */
  | { readonly kind: "revoked"; readonly fingerprint: string };

/**
 * Parses the text of an OpenSSH known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 * Comments, blank lines, `@cert-authority` lines (sdx does not verify host
 * certificates) and lines it cannot read are skipped, as OpenSSH skips them.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) return;
    let revoked = false;
    if (fields[0].startsWith("@")) {
      const marker = fields.shift()!;
      if (marker === "@cert-authority") return;
      if (marker !== "@revoked") return;
      revoked = true;
    }
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return;
    const key = Buffer.from(base64, "base64");
    // The blob names its own type first; a line whose blob disagrees with its type field is corrupt.
    if (blobKeyType(key) !== keyType) return;
    entries.push({ line: i + 1, revoked, hosts, keyType, key });
  });
  return entries;
}

/** OpenSSH's SHA256 fingerprint of a public key blob, as `ssh-keygen -lf` prints it: `SHA256:` + unpadded base64. */
export function sshFingerprint(key: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type a public key blob names (its first SSH string), or undefined when the blob is malformed. */
export function blobKeyType(key: Uint8Array): string | undefined {
  if (key.length < 4) return undefined;
  const len = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > key.length) return undefined;
  const type = Buffer.from(key.buffer, key.byteOffset + 4, len).toString("latin1");
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** The name OpenSSH looks a host up by: `address` on port 22, `[address]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** A ready-to-paste known_hosts line for this host and key. */
export function knownHostsLine(address: string, port: number, key: Uint8Array): string {
  return `${knownHostsName(address, port)} ${blobKeyType(key) ?? "unknown"} ${Buffer.from(key).toString("base64")}`;
}

/** OpenSSH's pattern match (match.c): `*` and `?` wildcards, case-insensitive, over the whole name. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`, "i");
  return re.test(name);
}

/** Whether a hashed `|1|salt|hash` host field is the HMAC-SHA1 of `name` under its salt. */
function hashedMatch(field: string, name: string): boolean {
  const parts = field.split("|");
  if (parts.length !== 4 || parts[1] !== "1") return false;
  const salt = Buffer.from(parts[2]!, "base64");
  const want = Buffer.from(parts[3]!, "base64");
  const got = createHmac("sha1", salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * Whether a line's host field matches the lookup name (see {@link knownHostsName}).
 * A matching negated pattern (`!pattern`) rules the line out, as in OpenSSH.
 */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|")) return hashedMatch(field, name);
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (pattern !== "" && globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The entries that apply to a host at this address and port. */
export function entriesFor(entries: readonly KnownHostEntry[], address: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(address, port);
  return entries.filter((e) => hostFieldMatches(e.hosts, name));
}

/** Where a host's key may be known from. */
export interface HostKeyTrust {
  /** Pinned `SHA256:…` fingerprint for this host (from the target's `fingerprints`), checked before known_hosts. */
  readonly fingerprint?: string;
  /** The parsed known_hosts entries (all of them; those for the host are picked here). */
  readonly knownHosts: readonly KnownHostEntry[];
  readonly address: string;
  readonly port: number;
}

/**
 * Decides whether a presented host key is trusted. A revoked key is refused
 * first; then a pinned fingerprint decides alone; else known_hosts does: the
 * key matches a line for the host (trusted), other keys are known for the host
 * (mismatch), or nothing is (unknown).
 */
export function checkHostKey(key: Uint8Array, trust: HostKeyTrust): HostKeyVerdict {
  const fingerprint = sshFingerprint(key);
  const blob = Buffer.from(key);
  const lines = entriesFor(trust.knownHosts, trust.address, trust.port);
  if (lines.some((e) => e.revoked && e.key.equals(blob))) return { kind: "revoked", fingerprint };
  if (trust.fingerprint !== undefined) {
    return trust.fingerprint === fingerprint
      ? { kind: "trusted", fingerprint }
      : { kind: "mismatch", fingerprint, expected: [trust.fingerprint], source: "fingerprints" };
  }
  const known = lines.filter((e) => !e.revoked);
  if (known.some((e) => e.key.equals(blob))) return { kind: "trusted", fingerprint };
  if (known.length) return { kind: "mismatch", fingerprint, expected: [...new Set(known.map((e) => sshFingerprint(e.key)))], source: "known_hosts" };
  return { kind: "unknown", fingerprint };
}

/** Key types known (not revoked) for a host, in file order: the client asks for these first, as OpenSSH does. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], address: string, port: number): string[] {
  return [...new Set(entriesFor(entries, address, port).filter((e) => !e.revoked).map((e) => e.keyType))];
}
