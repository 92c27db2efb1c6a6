import type { HealthProbe } from "@sdx/sdk";
import { shellQuote } from "../client/host-connection.js";

/**
 * The Docker health check for a probe, as the argv Docker runs inside the
 * container. Docker runs checks in the container only, so http and tcp probes
 * become shell one-liners. They use Node when the image has it (sdx-built images
 * are Node on a slim base without `nc`), else busybox's `nc` (busybox-static's
 * `wget -T` crashes, and slim images rarely have `curl`).
 */
export function healthCommand(probe: HealthProbe, timeoutSeconds: number): readonly string[] {
  switch (probe.kind) {
    case "exec":
      return probe.command;
    case "tcp": {
      const js = `const s=require("net").connect(${probe.port},"127.0.0.1",()=>process.exit(0));s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),${timeoutSeconds * 1000})`;
      return ["sh", "-c", `if command -v node >/dev/null 2>&1; then exec node -e ${shellQuote(js)}; fi; nc -w ${timeoutSeconds} 127.0.0.1 ${probe.port} </dev/null >/dev/null || exit 1`];
    }
    case "http": {
      const js = `require("http").get({host:"127.0.0.1",port:${probe.port},path:${JSON.stringify(probe.path)},timeout:${timeoutSeconds * 1000}},r=>process.exit(r.statusCode>=200&&r.statusCode<400?0:1)).on("error",()=>process.exit(1))`;
      const request = `GET ${probe.path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n`;
      return ["sh", "-c", `if command -v node >/dev/null 2>&1; then exec node -e ${shellQuote(js)}; fi; printf ${shellQuote(request)} | nc -w ${timeoutSeconds} 127.0.0.1 ${probe.port} | head -n 1 | grep -Eq '^HTTP/[0-9.]+ [23]' || exit 1`];
    }
    default: {
      const never: never = probe;
      throw new Error(`unhandled probe ${JSON.stringify(never)}`);
    }
  }
}
