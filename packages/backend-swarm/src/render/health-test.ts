import type { HealthProbe } from "@sdx/sdk";

/** Quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The Swarm healthcheck `Test` for a probe. Swarm only runs commands inside the
 * container, so http and tcp probes become shell one-liners. They use `nc`
 * rather than `wget` or `curl`: busybox images always have `nc`, while
 * busybox-static's `wget` crashes and many slim images have no `curl`.
 */
export function healthTest(probe: HealthProbe, timeoutSeconds: number): string[] {
  switch (probe.kind) {
    case "exec":
      return ["CMD", ...probe.command];
    case "tcp":
      // busybox nc has no -z: connecting with an empty stdin exits 0 on connect, 1 when refused.
      return ["CMD-SHELL", `nc -w ${timeoutSeconds} 127.0.0.1 ${probe.port} </dev/null >/dev/null || exit 1`];
    case "http": {
      const request = `GET ${probe.path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
      return ["CMD-SHELL", `printf ${shellQuote(request)} | nc -w ${timeoutSeconds} 127.0.0.1 ${probe.port} | head -n 1 | grep -Eq '^HTTP/[0-9.]+ [23]' || exit 1`];
    }
    default: {
      const never: never = probe;
      throw new Error(`unhandled probe ${JSON.stringify(never)}`);
    }
  }
}

/** What the image must contain for {@link healthTest} to work. */
export function probeRequirement(probe: HealthProbe): string | undefined {
  switch (probe.kind) {
    case "exec":
      return undefined;
    case "tcp":
      return "the image must contain `sh` and `nc` (busybox's is enough)";
    case "http":
      return "the image must contain `sh`, `printf`, `nc`, `head` and `grep` (busybox's are enough); the check passes on a 2xx or 3xx status line";
    default: {
      const never: never = probe;
      throw new Error(`unhandled probe ${JSON.stringify(never)}`);
    }
  }
}
