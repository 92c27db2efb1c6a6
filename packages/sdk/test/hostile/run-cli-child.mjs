// Runs the sdx CLI from the TypeScript sources in a child process, for hostile
// inputs that could hang, exit or exhaust memory. Output goes to the real
// stdout/stderr, as with bin/sdx.js; wall and CPU time and peak RSS go to fd 3.
import "./ts-source-hooks.mjs";
import { writeSync } from "node:fs";

const { runCli } = await import(new URL("../../src/cli/run-cli.ts", import.meta.url).href);
const started = performance.now();
const startedCpu = process.cpuUsage();
process.on("exit", () => {
  const cpu = process.cpuUsage(startedCpu);
  try {
    writeSync(3, JSON.stringify({ ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKiB: process.resourceUsage().maxRSS }));
  } catch {
    // fd 3 is absent when run by hand.
  }
});
process.exitCode = await runCli(process.argv.slice(2));
