import { describe, expect, it } from "vitest";
import { SdxError } from "@sdx/sdk";
import { hostKeyError, mapSshError, type SshErrorContext } from "./map-ssh-error.js";

const host = { name: "web-1", address: "10.0.0.1", user: "deploy", port: 2222 };
const connect: SshErrorContext = { host, phase: "connect", connectTimeoutMs: 4000, authMethods: ["identity file /k/id_ed25519", "ssh-agent at /run/agent.sock"] };
const exec: SshErrorContext = { host, phase: "exec", command: "docker run" };

/** An error shaped as ssh2 or Node's net module emit them. */
const sshErr = (fields: { code?: string | number; level?: string }, message = "whatever the library says"): Error => Object.assign(new Error(message), fields);

describe("mapSshError", () => {
  it.each(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"])("%s while connecting is SDX_BACKEND_UNREACHABLE naming the host and port", (code) => {
    const e = mapSshError(sshErr({ code, level: "client-socket" }), connect);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.fault).toBe("backend");
    expect(e.message).toContain("web-1 (10.0.0.1:2222)");
    expect(e.message).toContain(code);
    expect(e.details).toMatchObject({ code, host: "web-1", phase: "connect" });
  });

  it("a name that does not resolve is SDX_BACKEND_UNREACHABLE at the user's door, with a hint to check the address", () => {
    const e = mapSshError(sshErr({ code: "ENOTFOUND", level: "client-socket" }), connect);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.fault).toBe("user");
    expect(e.hint).toMatch(/address/);
  });

  it("ssh2's ready timeout while connecting names the timeout and address:port", () => {
    const e = mapSshError(sshErr({ level: "client-timeout" }), connect);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.fault).toBe("backend");
    expect(e.message).toBe("timed out after 4000 ms connecting over SSH to web-1 (10.0.0.1:2222)");
    expect(e.hint).toMatch(/connectTimeoutSeconds/);
  });

  it("ssh2's keepalive timeout once connected is a lost connection naming the command's first words", () => {
    const e = mapSshError(sshErr({ level: "client-timeout" }), exec);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.message).toBe("lost the SSH connection to web-1 (10.0.0.1:2222) while running `docker run`: the host stopped answering keepalives");
  });

  it("a reset socket mid-command is a lost connection", () => {
    const e = mapSshError(sshErr({ code: "ECONNRESET", level: "client-socket" }), exec);
    expect(e.code).toBe("SDX_BACKEND_UNREACHABLE");
    expect(e.message).toContain("lost the SSH connection");
  });

  it("refused authentication is SDX_BACKEND_AUTH naming user@address:port and every method tried", () => {
    const e = mapSshError(sshErr({ level: "client-authentication" }, "All configured authentication methods failed"), connect);
    expect(e.code).toBe("SDX_BACKEND_AUTH");
    expect(e.fault).toBe("user");
    expect(e.message).toBe("SSH authentication as deploy@10.0.0.1:2222 was refused (tried: identity file /k/id_ed25519, ssh-agent at /run/agent.sock)");
    expect(e.details?.tried).toEqual(connect.authMethods);
    expect(e.hint).toContain("authorized_keys");
  });

  it("classifies by code and level, not by message text", () => {
    // A message that reads like a timeout, with a refused-connection code, is a refused connection.
    const e = mapSshError(sshErr({ code: "ECONNREFUSED", level: "client-socket" }, "Timed out while waiting for handshake"), connect);
    expect(e.message).toContain("ECONNREFUSED");
    expect(e.message).not.toContain("timed out");
    // An authentication-sounding message without ssh2's level is no auth error.
    expect(mapSshError(new Error("All configured authentication methods failed"), connect).code).toBe("SDX_BACKEND_ERROR");
  });

  it("a server disconnect (numeric SSH reason) is SDX_BACKEND_ERROR with the reason in details", () => {
    const e = mapSshError(sshErr({ code: 12 }), connect);
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.details?.code).toBe(12);
    expect(e.message).toContain("reason 12");
  });

  it("a session the server refuses to open is SDX_BACKEND_ERROR pointing at MaxSessions", () => {
    const e = mapSshError(Object.assign(new Error("(SSH) Channel open failure: open failed"), { reason: 1 }), exec);
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toBe("the SSH server at web-1 (10.0.0.1:2222) refused to open a session while running `docker run` (channel open failure reason 1)");
    expect(e.hint).toContain("MaxSessions");
  });

  it("a failed handshake keeps ssh2's description, which names algorithms only", () => {
    const e = mapSshError(sshErr({ level: "handshake" }, "Handshake failed: no matching key exchange algorithm"), connect);
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toBe("SSH handshake with web-1 (10.0.0.1:2222) failed: Handshake failed: no matching key exchange algorithm");
  });

  it("passes SdxErrors through and turns AbortError into SDX_ABORTED", () => {
    const own = new SdxError("SDX_BACKEND_CONFLICT", "held", { fault: "backend" });
    expect(mapSshError(own, exec)).toBe(own);
    const abort = Object.assign(new Error("This operation was aborted"), { name: "AbortError" });
    expect(mapSshError(abort, exec).code).toBe("SDX_ABORTED");
  });

  it("an unclassified error keeps its text out of the message (only the cause has it)", () => {
    const e = mapSshError(new Error("token=hunter2"), exec);
    expect(e.code).toBe("SDX_BACKEND_ERROR");
    expect(e.message).toBe("SSH to web-1 (10.0.0.1:2222) failed while running `docker run`");
    expect(JSON.stringify(e.toJSON())).not.toContain("hunter2");
  });

  it("names a host whose name is its address once", () => {
    const e = mapSshError(sshErr({ code: "ECONNREFUSED" }), { host: { ...host, name: "10.0.0.1" }, phase: "connect" });
    expect(e.message).toBe("cannot connect over SSH to 10.0.0.1:2222 (ECONNREFUSED)");
  });
});

describe("hostKeyError", () => {
  const line = "[10.0.0.1]:2222 ssh-ed25519 AAAAC3Nza";
  it("an unknown key is SDX_HOST_KEY_UNKNOWN with the fingerprint, a ready-to-paste fingerprints entry and known_hosts line", () => {
    const e = hostKeyError({ kind: "unknown", fingerprint: "SHA256:abc" }, host, line, "/home/u/.ssh/known_hosts");
    expect(e.code).toBe("SDX_HOST_KEY_UNKNOWN");
    expect(e.fault).toBe("user");
    expect(e.message).toBe("the SSH host key of web-1 (10.0.0.1:2222) is not known: SHA256:abc");
    expect(e.hint).toContain('fingerprints: { "10.0.0.1": "SHA256:abc" }');
    expect(e.hint).toContain(line);
    expect(e.details).toMatchObject({ fingerprint: "SHA256:abc", knownHostsLine: line, knownHostsFile: "/home/u/.ssh/known_hosts" });
  });

  it("a changed key is SDX_HOST_KEY_MISMATCH with expected and got, warning of a man-in-the-middle", () => {
    const e = hostKeyError({ kind: "mismatch", fingerprint: "SHA256:new", expected: ["SHA256:old"], source: "known_hosts" }, host, line, "/kh");
    expect(e.code).toBe("SDX_HOST_KEY_MISMATCH");
    expect(e.fault).toBe("user");
    expect(e.message).toBe("the SSH host key of web-1 (10.0.0.1:2222) is SHA256:new, but /kh expect SHA256:old: possible man-in-the-middle attack");
    expect(e.details).toMatchObject({ fingerprint: "SHA256:new", expected: ["SHA256:old"], source: "known_hosts" });
    const pinned = hostKeyError({ kind: "mismatch", fingerprint: "SHA256:new", expected: ["SHA256:pin"], source: "fingerprints" }, host, line, "/kh");
    expect(pinned.message).toContain("the target's fingerprints expect SHA256:pin");
  });

  it("a revoked key is refused as a mismatch, saying it is revoked", () => {
    const e = hostKeyError({ kind: "revoked", fingerprint: "SHA256:bad" }, host, line, "/kh");
    expect(e.code).toBe("SDX_HOST_KEY_MISMATCH");
    expect(e.message).toContain("@revoked");
    expect(e.details?.revoked).toBe(true);
  });
});
