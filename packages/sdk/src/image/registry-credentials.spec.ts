import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { seedImage, syntheticImage } from "./__fixtures__/fake-oci-registry.js";
import { rejection, useFakeRegistries } from "./__fixtures__/use-fake-registries.js";
import { createRegistryClient } from "./registry-client.js";
import { defaultCredentialResolver, dockerConfigCredentials, normalizeRegistryHost } from "./registry-credentials.js";

const { fake } = useFakeRegistries();
let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sdx-creds-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString("base64");

/** Writes `<dir>/docker/config.json` and returns an env pointing DOCKER_CONFIG at it, with PATH = `<dir>/bin`. */
const dockerConfig = async (config: unknown): Promise<Record<string, string>> => {
  await mkdir(join(dir, "docker"), { recursive: true });
  await writeFile(join(dir, "docker", "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  await mkdir(join(dir, "bin"), { recursive: true });
  return { DOCKER_CONFIG: join(dir, "docker"), PATH: `${join(dir, "bin")}:/usr/bin:/bin` };
};

/**
 * A fake `docker-credential-<name>`: records the server URL it got on stdin, then
 * answers for `host` (or says not found, as the protocol does, exit 1).
 */
const helper = async (name: string, script: string): Promise<void> => {
  const path = join(dir, "bin", `docker-credential-${name}`);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
};
const answeringHelper = (host: string, user: string, secret: string): string =>
  [
    `[ "$1" = get ] || exit 9`,
    `read -r url`,
    `printf '%s\\n' "$url" >> "${dir}/helper-calls"`,
    `if [ "$url" = "${host}" ]; then printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}' "$url"; exit 0; fi`,
    `echo "credentials not found in native keychain"; exit 1`,
  ].join("\n");

describe("dockerConfigCredentials", () => {
  it("reads auths: base64 auth, username/password, schemes and paths in keys, Docker Hub's v1 key", async () => {
    const env = await dockerConfig({
      auths: {
        "ghcr.io": { auth: b64("octo:ghp_token:with:colons") },
        "https://registry.example.com/v2/": { username: "ci", password: "pw" },
        "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
      },
    });
    const resolve = dockerConfigCredentials({ env, homeDir: dir });
    expect(await resolve("ghcr.io")).toEqual({ username: "octo", password: "ghp_token:with:colons", source: "~/docker/config.json auths" });
    expect(await resolve("registry.example.com")).toMatchObject({ username: "ci", password: "pw" });
    expect(await resolve("registry-1.docker.io")).toMatchObject({ username: "hubuser", password: "hubpass" });
    expect(await resolve("quay.io")).toBeUndefined();
  });

  it("carries an identitytoken", async () => {
    const env = await dockerConfig({ auths: { "myregistry.azurecr.io": { auth: b64("00000000-0000-0000-0000-000000000000:"), identitytoken: "refresh-xyz" } } });
    expect(await dockerConfigCredentials({ env })("myregistry.azurecr.io")).toMatchObject({ identityToken: "refresh-xyz" });
  });

  it("gives nothing when there is no config.json", async () => {
    expect(await dockerConfigCredentials({ env: { DOCKER_CONFIG: join(dir, "nowhere") } })("ghcr.io")).toBeUndefined();
  });

  it("fails on a config.json that is not JSON without quoting it", async () => {
    const env = await dockerConfig('{"auths": {"ghcr.io": {"auth": "c2VjcmV0LXZhbHVl"');
    const err = await rejection(dockerConfigCredentials({ env, homeDir: dir })("ghcr.io"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("~/docker/config.json");
    expect(JSON.stringify(err.toJSON())).not.toContain("c2VjcmV0");
  });

  it("runs credHelpers[host] with the server URL on stdin and names the helper as the source", async () => {
    const env = await dockerConfig({ credHelpers: { "ghcr.io": "fake" }, auths: { "ghcr.io": { auth: b64("stale:stale") } } });
    await helper("fake", answeringHelper("ghcr.io", "octo", "from-helper"));
    expect(await dockerConfigCredentials({ env })("ghcr.io")).toEqual({ username: "octo", password: "from-helper", source: "credential helper docker-credential-fake" });
  });

  it("asks the credsStore for Docker Hub as https://index.docker.io/v1/, and falls back to auths when it has nothing", async () => {
    const env = await dockerConfig({ credsStore: "fake", auths: { "registry.example.com": { auth: b64("ci:pw") } } });
    await helper("fake", answeringHelper("https://index.docker.io/v1/", "hubuser", "hub-secret"));
    const resolve = dockerConfigCredentials({ env });
    expect(await resolve("registry-1.docker.io")).toMatchObject({ username: "hubuser", password: "hub-secret", source: "credential helper docker-credential-fake" });
    expect(await resolve("registry.example.com")).toMatchObject({ username: "ci", password: "pw" });
    expect(await resolve("quay.io")).toBeUndefined();
  });

  it("treats the <token> user as an identity token", async () => {
    const env = await dockerConfig({ credsStore: "fake" });
    await helper("fake", answeringHelper("ghcr.io", "<token>", "refresh-123"));
    expect(await dockerConfigCredentials({ env })("ghcr.io")).toMatchObject({ identityToken: "refresh-123" });
  });

  it("fails clearly, naming the helper, when it is not installed", async () => {
    const env = await dockerConfig({ credsStore: "missing" });
    const err = await rejection(dockerConfigCredentials({ env })("ghcr.io"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("docker-credential-missing");
    expect(err.message).toContain("not installed");
    expect(err.hint).toContain("credsStore");
  });

  it("fails clearly when the helper fails, without repeating what it printed", async () => {
    const env = await dockerConfig({ credHelpers: { "ghcr.io": "broken" } });
    await helper("broken", 'echo "leaked-secret-output"; exit 3');
    const err = await rejection(dockerConfigCredentials({ env })("ghcr.io"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("docker-credential-broken");
    expect(err.details).toMatchObject({ exitCode: 3, helper: "docker-credential-broken" });
    expect(JSON.stringify(err.toJSON())).not.toContain("leaked-secret-output");
  });

  it("kills a helper that hangs", async () => {
    const env = await dockerConfig({ credsStore: "slow" });
    await helper("slow", "exec sleep 30");
    const err = await rejection(dockerConfigCredentials({ env, helperTimeoutMs: 200 })("ghcr.io"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("200 ms");
  });
});

describe("defaultCredentialResolver", () => {
  it("tries the explicit map, then SDX_REGISTRY_* for the named host, then Docker's config", async () => {
    const env = {
      ...(await dockerConfig({ auths: { "ghcr.io": { auth: b64("docker:d") }, "quay.io": { auth: b64("docker:q") } } })),
      SDX_REGISTRY_HOST: "quay.io",
      SDX_REGISTRY_USER: "envuser",
      SDX_REGISTRY_PASSWORD: "envpass",
    };
    const resolve = defaultCredentialResolver({ env, credentials: { "docker.io": { username: "given", password: "g" } }, ecr: false });
    expect(await resolve("registry-1.docker.io")).toMatchObject({ username: "given", source: "explicit credentials for docker.io" });
    expect(await resolve("quay.io")).toEqual({ username: "envuser", password: "envpass", source: "env SDX_REGISTRY_USER/SDX_REGISTRY_PASSWORD" });
    expect(await resolve("ghcr.io")).toMatchObject({ username: "docker", source: expect.stringContaining("config.json auths") });
    expect(await resolve("example.com")).toBeUndefined();
  });

  it("refuses SDX_REGISTRY_HOST without a password", async () => {
    const resolve = defaultCredentialResolver({ env: { SDX_REGISTRY_HOST: "ghcr.io", SDX_REGISTRY_USER: "u" }, dockerConfig: false, ecr: false });
    expect((await rejection(resolve("ghcr.io"))).code).toBe("SDX_REGISTRY_AUTH");
    expect(await resolve("quay.io")).toBeUndefined();
  });

  it("asks ECR for ECR hosts only", async () => {
    const asked: string[] = [];
    const resolve = defaultCredentialResolver({
      env: {},
      dockerConfig: false,
      ecr: {
        clientFactory: (region) => ({
          getAuthorizationToken: async () => {
            asked.push(region);
            return { authorizationData: [{ authorizationToken: b64("AWS:ecr-pass"), expiresAt: new Date(Date.now() + 3_600_000) }] };
          },
        }),
      },
    });
    expect(await resolve("123456789012.dkr.ecr.eu-central-1.amazonaws.com")).toEqual({ username: "AWS", password: "ecr-pass", source: "ECR GetAuthorizationToken (eu-central-1)" });
    expect(await resolve("ghcr.io")).toBeUndefined();
    expect(asked).toEqual(["eu-central-1"]);
  });

  it("logs a client in to a Basic registry from Docker's config, and names that source when it is refused", async () => {
    const reg = await fake({ auth: { kind: "basic", username: "ci", password: "right" } });
    seedImage(reg, "acme/app", syntheticImage({ architecture: "amd64", layers: [randomBytes(10)] }), ["1"]);
    const env = await dockerConfig({ auths: { [reg.host]: { auth: b64("ci:right") } } });
    const ok = createRegistryClient({ credentials: defaultCredentialResolver({ env, ecr: false, dockerConfig: { env, homeDir: dir } }) });
    expect(await ok.headManifest(reg.location("acme/app"), "1")).toBeDefined();

    const wrongEnv = await dockerConfig({ auths: { [reg.host]: { auth: b64("ci:wrong-value") } } });
    const wrong = createRegistryClient({ credentials: defaultCredentialResolver({ env: wrongEnv, ecr: false, dockerConfig: { env: wrongEnv, homeDir: dir } }) });
    const err = await rejection(wrong.headManifest(reg.location("acme/app"), "1"));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("~/docker/config.json auths");
    expect(JSON.stringify(err.toJSON())).not.toContain("wrong-value");
  });
});

describe("normalizeRegistryHost", () => {
  it.each([
    ["https://index.docker.io/v1/", "registry-1.docker.io"],
    ["docker.io", "registry-1.docker.io"],
    ["index.docker.io", "registry-1.docker.io"],
    ["http://localhost:5000/v2/", "localhost:5000"],
    ["GHCR.io", "ghcr.io"],
  ])("%s → %s", (key, host) => {
    expect(normalizeRegistryHost(key)).toBe(host);
  });
});
