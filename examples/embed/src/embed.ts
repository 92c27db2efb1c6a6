// "acme-ship": another tool that embeds sdx. It registers its own backend and
// price source through the container, then plans and deploys, drawing its own
// progress UI from sdx's event stream. No sdx CLI binary is involved.
//
//   node src/embed.ts [app.yaml]      (Node 22.18+/24 run the TypeScript directly)
import { fileURLToPath } from "node:url";
import { deploy, formatEstimates, plan, type SdxEvent } from "@sdx/sdk";
import { backendModule, createSdxContainer, priceSourceModule } from "@sdx/sdk/di";
import { createDirectoryBackend } from "./directory-backend.ts";
import { rateCard } from "./rate-card-source.ts";

/** The tool's own progress display: one bar per service, redrawn from events. */
export function progressUi(write: (line: string) => void): (e: SdxEvent) => void {
  return (e) => {
    switch (e.kind) {
      case "action-succeeded":
        write(`acme-ship: wrote ${e.resource.name}`);
        break;
      case "rollout-progress": {
        const width = 10;
        const done = e.desired === 0 ? width : Math.round((e.ready / e.desired) * width);
        write(`acme-ship: ${e.service.padEnd(8)} [${"#".repeat(done)}${"-".repeat(width - done)}] ${e.ready}/${e.desired} ready`);
        break;
      }
      case "action-failed":
      case "rollout-failed":
        write(`acme-ship: FAILED ${"resource" in e ? e.resource.name : e.service}: ${"error" in e ? e.error.message : e.reason}`);
        break;
      default:
        break;
    }
  };
}

/** Plans and deploys `file` to the cheapest target, printing through `write`. Returns the exit code. */
export async function ship(file: string, write: (line: string) => void = console.log): Promise<number> {
  const container = createSdxContainer({ modules: [backendModule(createDirectoryBackend()), priceSourceModule(rateCard)] });
  const preview = await plan(file, { container, target: "cheapest" });
  if (preview.estimates) write(formatEstimates(preview.estimates, preview.target));
  const result = await deploy(file, { container, target: "cheapest", onEvent: progressUi(write) });
  write(`acme-ship: ${result.status} on ${result.target} (${result.selection})`);
  return result.status === "succeeded" || result.status === "no-changes" ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ship(process.argv[2] ?? fileURLToPath(new URL("../app.yaml", import.meta.url))).then((code) => (process.exitCode = code));
}
