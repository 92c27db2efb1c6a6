import { describe, expect, it } from "vitest";
import { checkHostKey, hostFieldMatches, knownHostsLine, knownKeyTypes, parseKnownHosts, sshFingerprint } from "./known-hosts.js";

// Real keys made with `ssh-keygen -t ed25519|ecdsa`; fingerprints as `ssh-keygen -lf` printed them.
const ED1 = "AAAAC3NzaC1lZDI1NTE5AAAAIFg7NEIVjBRapNEeZ64buxjgK9E8LIMsv8HSJVzb1Y9K";
const ED1_FP = "SHA256:Q7ZhkJy/L4678JhqfVPeVGJyxS6Oggqk7MP9CgGF+9s";
const EC2 = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBO5KiuZTFRJW4sTRMs8BtKg/dxBOTuRRrlJnLvm3FsLi24DAGzRX2Q7XUaiqAhX6OigTWLk3EUZdeCMnU8L4WAA=";
const EC2_FP = "SHA256:RYNhmGdvWnULhUKitDmRuoTAKChasH3hf5yI4QomEgE";
const ED3 = "AAAAC3NzaC1lZDI1NTE5AAAAILK6FW52jNZLeAMSkdrzSZE2q8OdpOtP0oRVgRIbRXjp";
const ED3_FP = "SHA256:q3TYg8QisdfxqSNjqrrG2EIkrccluOggeXc56USRz5k";
const blob = (b64: string): Buffer => Buffer.from(b64, "base64");

// `ssh-keygen -H` of "web.example.com <ED1>" and "[10.0.0.5]:2222 <EC2>".
const HASHED_WEB = "|1|v4yI6eYBZues7DBH1/4Vb/HI8Yg=|q+72WAXtOvFABKm/Qbme1a9ivH4=";
const HASHED_PORT = "|1|qlwaSH1mfTApmldw6/++Ja+iA+A=|Pl1JH9dZtg1dTCY73RhWRqbMfWs=";

describe("sshFingerprint", () => {
  it("prints what ssh-keygen -lf prints: SHA256: and unpadded base64", () => {
    expect(sshFingerprint(blob(ED1))).toBe(ED1_FP);
    expect(sshFingerprint(blob(EC2))).toBe(EC2_FP);
    expect(sshFingerprint(blob(ED3))).toBe(ED3_FP);
  });
});

describe("parseKnownHosts", () => {
  it("reads plain, comma-list, bracketed-port, hashed and @revoked lines; skips comments, blanks, @cert-authority and junk", () => {
    const text = [
      "# a comment",
      "",
      `web.example.com,10.0.0.1 ssh-ed25519 ${ED1} admin@box`,
      `[10.0.0.5]:2222 ecdsa-sha2-nistp256 ${EC2}`,
      `${HASHED_WEB} ssh-ed25519 ${ED1}`,
      `@revoked old.example.com ssh-ed25519 ${ED3}`,
      `@cert-authority *.example.com ssh-ed25519 ${ED3}`,
      "broken-line-without-key",
      `mislabelled ssh-rsa ${ED1}`,
      `  \tindented ssh-ed25519 ${ED3}  `,
    ].join("\n");
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => ({ line: e.line, hosts: e.hosts, keyType: e.keyType, revoked: e.revoked }))).toEqual([
      { line: 3, hosts: "web.example.com,10.0.0.1", keyType: "ssh-ed25519", revoked: false },
      { line: 4, hosts: "[10.0.0.5]:2222", keyType: "ecdsa-sha2-nistp256", revoked: false },
      { line: 5, hosts: HASHED_WEB, keyType: "ssh-ed25519", revoked: false },
      { line: 6, hosts: "old.example.com", keyType: "ssh-ed25519", revoked: true },
      { line: 10, hosts: "indented", keyType: "ssh-ed25519", revoked: false },
    ]);
    expect(entries[0]!.key.equals(blob(ED1))).toBe(true);
  });

  it("reads CRLF files", () => {
    expect(parseKnownHosts(`a ssh-ed25519 ${ED1}\r\nb ssh-ed25519 ${ED3}\r\n`).map((e) => e.hosts)).toEqual(["a", "b"]);
  });
});

describe("hostFieldMatches", () => {
  it("matches comma lists, wildcards and case-insensitively, as OpenSSH does", () => {
    expect(hostFieldMatches("web.example.com,10.0.0.1", "10.0.0.1")).toBe(true);
    expect(hostFieldMatches("web.example.com,10.0.0.1", "WEB.example.COM")).toBe(true);
    expect(hostFieldMatches("web.example.com,10.0.0.1", "10.0.0.10")).toBe(false);
    expect(hostFieldMatches("*.example.com", "db.example.com")).toBe(true);
    expect(hostFieldMatches("*.example.com", "example.com")).toBe(false);
    expect(hostFieldMatches("10.0.0.?", "10.0.0.7")).toBe(true);
    expect(hostFieldMatches("10.0.0.?", "10.0.0.77")).toBe(false);
    // Dots are literal, not regex wildcards.
    expect(hostFieldMatches("10.0.0.1", "10a0b0c1")).toBe(false);
  });

  it("a matching negated pattern rules the line out even when another pattern matches", () => {
    expect(hostFieldMatches("*.example.com,!secret.example.com", "web.example.com")).toBe(true);
    expect(hostFieldMatches("*.example.com,!secret.example.com", "secret.example.com")).toBe(false);
    expect(hostFieldMatches("!secret.example.com", "web.example.com")).toBe(false);
  });

  it("a non-22 port is only found under [host]:port, and port 22 only under the bare host", () => {
    expect(hostFieldMatches("[10.0.0.5]:2222", "[10.0.0.5]:2222")).toBe(true);
    expect(hostFieldMatches("10.0.0.5", "[10.0.0.5]:2222")).toBe(false);
    expect(hostFieldMatches("[10.0.0.5]:2222", "10.0.0.5")).toBe(false);
    expect(hostFieldMatches("[*.example.com]:2222", "[db.example.com]:2222")).toBe(true);
  });

  it("matches ssh-keygen -H hashed names, and only those", () => {
    expect(hostFieldMatches(HASHED_WEB, "web.example.com")).toBe(true);
    expect(hostFieldMatches(HASHED_WEB, "web.example.org")).toBe(false);
    expect(hostFieldMatches(HASHED_PORT, "[10.0.0.5]:2222")).toBe(true);
    expect(hostFieldMatches(HASHED_PORT, "10.0.0.5")).toBe(false);
    expect(hostFieldMatches("|2|abc|def", "web.example.com")).toBe(false);
  });
});

describe("checkHostKey", () => {
  const known = parseKnownHosts([
    `web.example.com,10.0.0.1 ssh-ed25519 ${ED1}`,
    `${HASHED_PORT} ecdsa-sha2-nistp256 ${EC2}`,
    `@revoked 10.0.0.9 ssh-ed25519 ${ED3}`,
    `10.0.0.9 ssh-ed25519 ${ED1}`,
  ].join("\n"));

  it("trusts a key listed for the host, by plain or hashed [host]:port name", () => {
    expect(checkHostKey(blob(ED1), { knownHosts: known, address: "10.0.0.1", port: 22 })).toEqual({ kind: "trusted", fingerprint: ED1_FP });
    expect(checkHostKey(blob(EC2), { knownHosts: known, address: "10.0.0.5", port: 2222 })).toEqual({ kind: "trusted", fingerprint: EC2_FP });
  });

  it("calls a host with no line unknown, and never trusts on first use", () => {
    expect(checkHostKey(blob(ED1), { knownHosts: known, address: "10.0.0.2", port: 22 })).toEqual({ kind: "unknown", fingerprint: ED1_FP });
    // Same address, other port: a different host as far as known_hosts goes.
    expect(checkHostKey(blob(ED1), { knownHosts: known, address: "10.0.0.1", port: 2200 })).toEqual({ kind: "unknown", fingerprint: ED1_FP });
    expect(checkHostKey(blob(ED1), { knownHosts: [], address: "10.0.0.1", port: 22 }).kind).toBe("unknown");
  });

  it("reports a mismatch with the expected fingerprints when other keys are known for the host (of any type)", () => {
    expect(checkHostKey(blob(ED3), { knownHosts: known, address: "web.example.com", port: 22 })).toEqual({ kind: "mismatch", fingerprint: ED3_FP, expected: [ED1_FP], source: "known_hosts" });
    expect(checkHostKey(blob(ED1), { knownHosts: known, address: "10.0.0.5", port: 2222 })).toEqual({ kind: "mismatch", fingerprint: ED1_FP, expected: [EC2_FP], source: "known_hosts" });
  });

  it("refuses a @revoked key even when a pinned fingerprint names it", () => {
    expect(checkHostKey(blob(ED3), { knownHosts: known, address: "10.0.0.9", port: 22 })).toEqual({ kind: "revoked", fingerprint: ED3_FP });
    expect(checkHostKey(blob(ED3), { knownHosts: known, address: "10.0.0.9", port: 22, fingerprint: ED3_FP }).kind).toBe("revoked");
    // The host's other, non-revoked key is still fine.
    expect(checkHostKey(blob(ED1), { knownHosts: known, address: "10.0.0.9", port: 22 }).kind).toBe("trusted");
  });

  it("a pinned fingerprint decides alone: exact match trusts, anything else is a mismatch even if known_hosts lists the key", () => {
    expect(checkHostKey(blob(ED3), { knownHosts: [], address: "10.0.0.3", port: 22, fingerprint: ED3_FP })).toEqual({ kind: "trusted", fingerprint: ED3_FP });
    expect(checkHostKey(blob(ED1), { knownHosts: known, address: "10.0.0.1", port: 22, fingerprint: ED3_FP })).toEqual({ kind: "mismatch", fingerprint: ED1_FP, expected: [ED3_FP], source: "fingerprints" });
    // Case matters in base64: a fingerprint that differs only in case is another key.
    expect(checkHostKey(blob(ED3), { knownHosts: [], address: "10.0.0.3", port: 22, fingerprint: ED3_FP.toLowerCase() }).kind).toBe("mismatch");
  });
});

describe("knownHostsLine and knownKeyTypes", () => {
  it("prints a line that parses back and is trusted for the same host and port", () => {
    expect(knownHostsLine("10.0.0.1", 22, blob(ED1))).toBe(`10.0.0.1 ssh-ed25519 ${ED1}`);
    const line = knownHostsLine("10.0.0.5", 2222, blob(EC2));
    expect(line).toBe(`[10.0.0.5]:2222 ecdsa-sha2-nistp256 ${EC2}`);
    expect(checkHostKey(blob(EC2), { knownHosts: parseKnownHosts(line), address: "10.0.0.5", port: 2222 }).kind).toBe("trusted");
  });

  it("lists the key types known for a host, without revoked ones", () => {
    const known = parseKnownHosts(`h ecdsa-sha2-nistp256 ${EC2}\nh ssh-ed25519 ${ED1}\n@revoked g ssh-ed25519 ${ED3}\n`);
    expect(knownKeyTypes(known, "h", 22)).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519"]);
    expect(knownKeyTypes(known, "g", 22)).toEqual([]);
  });
});
