/**
 * Where registry credentials come from: an explicit map, SDX_REGISTRY_* env,
 * Docker's config.json (inline `auths`, `credHelpers`, `credsStore`) and ECR.
 * Each credential names its source, so an auth error can say what was tried.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, sep } from "node:path";
import { SdxError } from "../errors/sdx-error.js";
import { ecrCredentials, parseEcrHost, type EcrCredentialsOptions } from "./ecr-credentials.js";
import type { CredentialResolver, RegistryCredential } from "./registry-auth.js";
import { DOCKER_HUB_ALIASES, DOCKER_HUB_REGISTRY, errorCodeOf } from "./registry-client.js";

/** The key Docker files Docker Hub credentials under, and the server URL its helpers get. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/**
 * What a credential helper prints (exit 1) when it holds nothing for the server:
 * docker-credential-helpers' `ErrCredentialsNotFound`, the protocol's only
 * not-found signal.
 */
const HELPER_NOT_FOUND = "credentials not found in native keychain";

/** Options for {@link dockerConfigCredentials}. */
export interface DockerConfigOptions {
  /** The directory holding `config.json`. @default $DOCKER_CONFIG, else ~/.docker */
  readonly configDir?: string;
  /** Environment for DOCKER_CONFIG and for the helpers (their PATH). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** For `~` in messages and the default directory. @default os.homedir() */
  readonly homeDir?: string;
  /** A helper that has not answered by then is killed (some prompt for a passphrase). @default 60000 */
  readonly helperTimeoutMs?: number;
}

/** Options for {@link defaultCredentialResolver}. */
export interface DefaultCredentialOptions {
  /** Credentials by registry host (Docker Hub as `docker.io` or any alias), tried first. */
  readonly credentials?: Readonly<Record<string, { readonly username: string; readonly password: string }>>;
  /** For SDX_REGISTRY_HOST/USER/PASSWORD and Docker's config. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Docker's config.json; false skips it. @default read as {@link dockerConfigCredentials} does */
  readonly dockerConfig?: DockerConfigOptions | false;
  /** ECR for `<account>.dkr.ecr.<region>.amazonaws.com`; false skips it. @default the default AWS credential chain */
  readonly ecr?: EcrCredentialsOptions | false;
}

/**
 * The usual chain: the explicit map → SDX_REGISTRY_USER/SDX_REGISTRY_PASSWORD
 * when SDX_REGISTRY_HOST names the registry → Docker's config.json → ECR
 * (for ECR hosts). The first that has something wins.
 */
export function defaultCredentialResolver(options: DefaultCredentialOptions = {}): CredentialResolver {
  const env = options.env ?? process.env;
  const explicit = new Map<string, RegistryCredential>();
  for (const [host, c] of Object.entries(options.credentials ?? {})) {
    explicit.set(normalizeRegistryHost(host), { username: c.username, password: c.password, source: `explicit credentials for ${host}` });
  }
  const docker = options.dockerConfig === false ? undefined : dockerConfigCredentials({ env, ...options.dockerConfig });
  const ecr = options.ecr === false ? undefined : ecrCredentials(options.ecr);
  return async (registry) => {
    const host = normalizeRegistryHost(registry);
    const given = explicit.get(host);
    if (given !== undefined) return given;
    const fromEnv = envCredential(host, env);
    if (fromEnv !== undefined) return fromEnv;
    const fromDocker = await docker?.(registry);
    if (fromDocker !== undefined) return fromDocker;
    if (ecr !== undefined && parseEcrHost(host) !== undefined) return ecr(host);
    return undefined;
  };
}

/**
 * Credentials from Docker's `config.json`: the host's `credHelpers` entry or the
 * `credsStore` (running `docker-credential-<name> get`), then inline `auths`
 * (`auth` = base64 `user:password`, or `username`/`password`, `identitytoken`).
 * A missing file means no credentials; a helper that is missing or fails is an
 * `SDX_REGISTRY_AUTH` error naming it.
 */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialResolver {
  const env = options.env ?? process.env;
  const home = options.homeDir ?? homedir();
  const dir = options.configDir ?? (env["DOCKER_CONFIG"] !== undefined && env["DOCKER_CONFIG"] !== "" ? env["DOCKER_CONFIG"] : join(home, ".docker"));
  const path = join(dir, "config.json");
  const shown = path === home || path.startsWith(home + sep) ? `~${path.slice(home.length)}` : path;
  let config: Promise<DockerConfig | undefined> | undefined;
  const timeoutMs = options.helperTimeoutMs ?? 60_000;

  return async (registry) => {
    config ??= readDockerConfig(path, shown);
    const c = await config;
    if (c === undefined) return undefined;
    const host = normalizeRegistryHost(registry);
    const serverUrl = host === DOCKER_HUB_REGISTRY ? DOCKER_HUB_AUTH_KEY : host;
    const helper = findByHost(c.credHelpers, host) ?? (typeof c.credsStore === "string" && c.credsStore !== "" ? c.credsStore : undefined);
    if (helper !== undefined) {
      const fromHelper = await runHelper(helper, serverUrl, env, timeoutMs, registry);
      if (fromHelper !== undefined) return fromHelper;
    }
    const entry = findByHost(c.auths, host);
    return entry === undefined ? undefined : fromAuthsEntry(entry, `${shown} auths`, registry);
  };
}

/**
 * The host Docker files a registry under: scheme and path dropped, Docker Hub's
 * names (`docker.io`, `index.docker.io`, `https://index.docker.io/v1/`) as
 * `registry-1.docker.io`, the name {@link registryOf} uses.
 */
export function normalizeRegistryHost(key: string): string {
  let host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = host.indexOf("/");
  if (slash !== -1) host = host.slice(0, slash);
  host = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB_REGISTRY : host;
}

interface DockerConfig {
  readonly auths?: Readonly<Record<string, AuthsEntry>>;
  readonly credHelpers?: Readonly<Record<string, string>>;
  readonly credsStore?: string;
}

interface AuthsEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

async function readDockerConfig(path: string, shown: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (errorCodeOf(e) === "ENOENT" || errorCodeOf(e) === "ENOTDIR") return undefined;
    throw new SdxError("SDX_REGISTRY_AUTH", `cannot read Docker's config ${shown} (${errorCodeOf(e) ?? "error"})`, {
      fault: "user",
      cause: e,
      hint: `Make ${shown} readable, or point DOCKER_CONFIG at another directory.`,
      details: { path: shown },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    // No parse error text: it can quote the file, and the file holds passwords.
    throw new SdxError("SDX_REGISTRY_AUTH", `Docker's config ${shown} is not a JSON object`, {
      fault: "user",
      hint: `Fix ${shown} (or run \`docker login\` again to rewrite it).`,
      details: { path: shown },
    });
  }
  return parsed as DockerConfig;
}

function findByHost<T>(table: Readonly<Record<string, T>> | undefined, host: string): T | undefined {
  if (typeof table !== "object" || table === null) return undefined;
  for (const [key, value] of Object.entries(table)) {
    if (normalizeRegistryHost(key) === host) return value;
  }
  return undefined;
}

function fromAuthsEntry(entry: AuthsEntry, source: string, registry: string): RegistryCredential | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  let username = typeof entry.username === "string" ? entry.username : "";
  let password = typeof entry.password === "string" ? entry.password : "";
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) {
      throw new SdxError("SDX_REGISTRY_AUTH", `the ${source} entry for ${registry} has an auth value that is not base64 of user:password`, {
        fault: "user",
        hint: `Log in again with \`docker login ${registry}\` to rewrite it.`,
        details: { registry, source },
      });
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = typeof entry.identitytoken === "string" && entry.identitytoken !== "" ? entry.identitytoken : undefined;
  if (identityToken === undefined && username === "" && password === "") return undefined;
  return { username, password, source, ...(identityToken === undefined ? {} : { identityToken }) };
}

/** Runs `docker-credential-<name> get` with the server URL on stdin (docker-credential-helpers protocol). */
async function runHelper(name: string, serverUrl: string, env: Readonly<Record<string, string | undefined>>, timeoutMs: number, registry: string): Promise<RegistryCredential | undefined> {
  const program = `docker-credential-${name}`;
  const source = `credential helper ${program}`;
  const fail = (why: string, hint: string, extra: Record<string, unknown> = {}): SdxError =>
    new SdxError("SDX_REGISTRY_AUTH", `${source} could not give credentials for ${registry}: ${why}`, { fault: "user", hint, details: { registry, helper: program, ...extra } });
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw fail("the helper name is not a plain program name", "Fix credsStore/credHelpers in Docker's config.json.");
  }
  const { code, stdout, spawnError, timedOut } = await new Promise<{ code: number | null; stdout: string; spawnError?: string; timedOut: boolean }>((resolve) => {
    const child = spawn(program, ["get"], { env: { ...env } as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "ignore"] });
    const out: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
      // Its own children may hold stdout open: stop waiting for them.
      child.stdout.destroy();
      resolve({ code: null, stdout: "", timedOut });
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: "", spawnError: errorCodeOf(e) ?? "error", timedOut });
    });
    child.on("close", (exit) => {
      clearTimeout(timer);
      resolve({ code: exit, stdout: Buffer.concat(out).toString("utf8"), timedOut });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(serverUrl);
  });
  if (spawnError !== undefined) {
    throw spawnError === "ENOENT"
      ? fail(`${program} is not installed (not on PATH)`, `Install ${program}, or remove "${name}" from credsStore/credHelpers in Docker's config.json.`, { cause: spawnError })
      : fail(`${program} could not be started (${spawnError})`, `Check that ${program} is executable.`, { cause: spawnError });
  }
  if (timedOut) throw fail(`${program} did not answer within ${timeoutMs} ms`, `Run \`echo ${serverUrl} | ${program} get\` by hand to see whether it waits for input.`);
  if (code !== 0) {
    if (stdout.trim() === HELPER_NOT_FOUND) return undefined;
    // Its output is not quoted: a failing helper may print what it holds.
    throw fail(`${program} exited with status ${code}`, `Run \`echo ${serverUrl} | ${program} get\` by hand to see why, or log in again with \`docker login ${registry}\`.`, { exitCode: code });
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
  } catch {
    throw fail(`${program} printed something that is not JSON`, `Run \`echo ${serverUrl} | ${program} get\` by hand to check it.`);
  }
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
  if (secret === "") return undefined;
  // Docker's convention: the user `<token>` means the secret is an OAuth2 refresh token.
  if (username === "<token>") return { username: "", password: secret, source, identityToken: secret };
  return { username, password: secret, source };
}

/** The env credential when SDX_REGISTRY_HOST names this registry. */
function envCredential(host: string, env: Readonly<Record<string, string | undefined>>): RegistryCredential | undefined {
  const named = env["SDX_REGISTRY_HOST"];
  if (named === undefined || named === "" || normalizeRegistryHost(named) !== host) return undefined;
  const username = env["SDX_REGISTRY_USER"];
  const password = env["SDX_REGISTRY_PASSWORD"];
  if (username === undefined || username === "" || password === undefined || password === "") {
    throw new SdxError("SDX_REGISTRY_AUTH", `SDX_REGISTRY_HOST names ${named} but SDX_REGISTRY_USER or SDX_REGISTRY_PASSWORD is not set`, {
      fault: "user",
      hint: "Set both SDX_REGISTRY_USER and SDX_REGISTRY_PASSWORD, or unset SDX_REGISTRY_HOST.",
      details: { registry: host },
    });
  }
  return { username, password, source: "env SDX_REGISTRY_USER/SDX_REGISTRY_PASSWORD" };
}

