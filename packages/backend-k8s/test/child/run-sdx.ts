// The sdx CLI from the TypeScript sources, as packages/sdk/bin/sdx.js runs it
// from dist/: integration tests start it as a child process to send it real
// signals (SIGINT, SIGKILL) mid-deploy. Run with the flags in ts-resolve.mjs.
import { runCli } from "../../../sdk/src/cli/run-cli.ts";

process.exitCode = await runCli(process.argv.slice(2));
