import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { App } from "@sdx/sdk";
import { describeBackendConformance, withTarget } from "@sdx/sdk/testing";
import { createDirectoryBackend } from "./src/directory-backend.ts";
import type { DirectoryTarget } from "./src/directory-target.ts";

// The directory backend's "cluster" is a directory: the fake is a fresh temp
// directory holding a hand-written file and another app's manifest.

interface Workspace {
  readonly dir: string;
}

function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "sdx-embed-conformance-"));
  writeFileSync(join(dir, "someone-else.json"), `${JSON.stringify({ labels: { team: "other" }, spec: {} })}\n`);
  writeFileSync(join(dir, "other-web.json"), `${JSON.stringify({ labels: { "app.kubernetes.io/managed-by": "sdx", "sdx.dev/app": "other", "sdx.dev/service": "web" }, spec: { replicas: 1 } })}\n`);
  return { dir };
}

/** Every file that is not one of `app`'s manifests, with its content. */
function foreign(w: Workspace, app: string): unknown {
  return readdirSync(w.dir).sort().flatMap((name) => {
    const text = readFileSync(join(w.dir, name), "utf8");
    const labels = (JSON.parse(text) as { labels?: Record<string, string> }).labels ?? {};
    return labels["sdx.dev/app"] === app && labels["app.kubernetes.io/managed-by"] === "sdx" ? [] : [{ name, text }];
  });
}

describeBackendConformance<Workspace, DirectoryTarget>({
  name: "directory",
  backend: createDirectoryBackend(),
  labelsOf: (r) => (r.body as { labels?: Record<string, string> }).labels,
  // The shared examples declare no directory target: they render into ./out.
  targetFor: (_app: App): DirectoryTarget => ({ name: "out", kind: "directory", path: "./out", indent: 2, overrides: [] }),
  goldens: {
    dir: fileURLToPath(new URL("./golden", import.meta.url)),
    ext: "json",
    serialize: (rs) => `${JSON.stringify(rs, null, 2)}\n`,
    extraApps: { embedded: fileURLToPath(new URL("./app.yaml", import.meta.url)) },
  },
  live: {
    fake: workspace,
    backendOn: () => createDirectoryBackend(),
    context: (ctx, w) => withTarget<DirectoryTarget>(ctx, { path: w.dir }),
    foreign,
    // The backend writes with node:fs itself: there is no client port to fail call by call.
    faults: false,
  },
});
