#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm run build`, run on install by `prepare`).
import { runCli } from "../dist/cli/run-cli.js";
process.exitCode = await runCli(process.argv.slice(2));
