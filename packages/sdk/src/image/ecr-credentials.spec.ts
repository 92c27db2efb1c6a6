import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestOf } from "./__fixtures__/fake-oci-registry.js";
import { rejection, useFakeRegistries } from "./__fixtures__/use-fake-registries.js";
import { ecrCredentials, parseEcrHost, type EcrTokenClient } from "./ecr-credentials.js";
import { createRegistryClient } from "./registry-client.js";

const HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

const { fake } = useFakeRegistries();

const token = (password: string, expiresAt: Date) => ({ authorizationData: [{ authorizationToken: Buffer.from(`AWS:${password}`).toString("base64"), expiresAt, proxyEndpoint: `https://${HOST}` }] });

/** An AWS SDK-shaped error: a name and $metadata, as the SDK throws them. */
const awsError = (name: string, status: number): Error => Object.assign(new Error("User: arn:aws:iam::123456789012:user/x is not authorized"), { name, $metadata: { httpStatusCode: status } });

describe("parseEcrHost", () => {
  it.each([
    [HOST, { account: "123456789012", region: "us-east-1" }],
    ["123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", { account: "123456789012", region: "us-gov-west-1" }],
    ["123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", { account: "123456789012", region: "cn-north-1" }],
    ["public.ecr.aws", undefined],
    ["12345.dkr.ecr.us-east-1.amazonaws.com", undefined],
    ["123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", undefined],
  ])("%s", (host, expected) => {
    expect(parseEcrHost(host)).toEqual(expected);
  });
});

describe("ecrCredentials", () => {
  it("decodes the token as user AWS and caches it until shortly before it expires", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const calls: string[] = [];
    let n = 0;
    const resolve = ecrCredentials({
      now: () => now,
      clientFactory: (region) => ({
        getAuthorizationToken: async () => {
          calls.push(region);
          return token(`pass-${++n}`, new Date(now + 12 * 3_600_000));
        },
      }),
    });
    expect(await resolve(HOST)).toEqual({ username: "AWS", password: "pass-1", source: "ECR GetAuthorizationToken (us-east-1)" });
    now += 11 * 3_600_000;
    expect((await resolve(HOST))?.password).toBe("pass-1");
    now += 56 * 60_000; // within 5 minutes of expiry
    expect((await resolve(HOST))?.password).toBe("pass-2");
    expect(calls).toEqual(["us-east-1", "us-east-1"]);
  });

  it("answers nothing for other hosts without making a client", async () => {
    const resolve = ecrCredentials({
      clientFactory: () => {
        throw new Error("must not be called");
      },
    });
    expect(await resolve("ghcr.io")).toBeUndefined();
  });

  it("asks once for parallel requests", async () => {
    let calls = 0;
    const resolve = ecrCredentials({ clientFactory: () => ({ getAuthorizationToken: async () => (calls++, token("p", new Date(Date.now() + 3_600_000))) }) });
    await Promise.all([resolve(HOST), resolve(HOST), resolve(HOST)]);
    expect(calls).toBe(1);
  });

  it.each([
    ["AccessDeniedException", 400],
    ["UnrecognizedClientException", 400],
    ["CredentialsProviderError", 0],
    ["SomethingElse", 403],
  ])("maps %s (HTTP %i) to SDX_REGISTRY_AUTH naming the region, not AWS's message", async (name, status) => {
    const resolve = ecrCredentials({ clientFactory: () => ({ getAuthorizationToken: () => Promise.reject(awsError(name, status)) }) });
    const err = await rejection(resolve(HOST));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.fault).toBe("user");
    expect(err.message).toContain("us-east-1");
    expect(err.message).toContain(name);
    expect(err.message).not.toContain("arn:aws");
    expect(err.hint).toContain("ecr:GetAuthorizationToken");
  });

  it("maps throttling to SDX_REGISTRY_ERROR and a network failure to SDX_REGISTRY_UNREACHABLE", async () => {
    const throttled = ecrCredentials({ clientFactory: () => ({ getAuthorizationToken: () => Promise.reject(awsError("ThrottlingException", 400)) }) });
    expect((await rejection(throttled(HOST))).code).toBe("SDX_REGISTRY_ERROR");
    const offline = ecrCredentials({ clientFactory: () => ({ getAuthorizationToken: () => Promise.reject(Object.assign(new Error("getaddrinfo"), { code: "ENOTFOUND" })) }) });
    const err = await rejection(offline(HOST));
    expect(err.code).toBe("SDX_REGISTRY_UNREACHABLE");
    expect(err.fault).toBe("backend");
  });

  it("says to install @aws-sdk/client-ecr when it is missing", async () => {
    const resolve = ecrCredentials({ importSdk: () => Promise.reject(Object.assign(new Error("Cannot find package"), { code: "ERR_MODULE_NOT_FOUND" })) });
    const err = await rejection(resolve(HOST));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.hint).toContain("npm i @aws-sdk/client-ecr");
  });

  it("builds its default client from the installed SDK without calling AWS", async () => {
    const sent: unknown[] = [];
    const resolve = ecrCredentials({
      importSdk: async () => {
        const sdk = await import("@aws-sdk/client-ecr");
        // The real command class, a client whose send is intercepted: no traffic to AWS.
        class Client {
          constructor(readonly config: { region: string }) {}
          async send(command: unknown): Promise<unknown> {
            sent.push([this.config.region, command instanceof sdk.GetAuthorizationTokenCommand]);
            return token("real-shape", new Date(Date.now() + 3_600_000));
          }
        }
        return { ECRClient: Client, GetAuthorizationTokenCommand: sdk.GetAuthorizationTokenCommand };
      },
    });
    expect(await resolve(HOST)).toMatchObject({ password: "real-shape" });
    expect(sent).toEqual([["us-east-1", true]]);
  });

  it("lets a client push to an ECR host with the token, and reports AccessDenied as SDX_REGISTRY_AUTH", async () => {
    const reg = await fake({ auth: { kind: "basic", username: "AWS", password: "ecr-secret" } });
    // The ECR host name is kept in the URL the client builds; the fetch sends it to the fake.
    const rewrite = (async (input: string | URL | Request, init?: RequestInit) => fetch(String(input).replace(`https://${HOST}`, reg.url), init)) as typeof fetch;
    const ok: EcrTokenClient = { getAuthorizationToken: async () => token("ecr-secret", new Date(Date.now() + 3_600_000)) };
    const bytes = randomBytes(100);
    const blob = { descriptor: { mediaType: "x", digest: digestOf(bytes), size: 100 }, bytes };
    const location = { registry: HOST, repository: "acme/app", scheme: "https" as const };
    const client = createRegistryClient({ fetch: rewrite, credentials: ecrCredentials({ clientFactory: () => ok }) });
    expect(await client.pushBlob(location, blob)).toBe("uploaded");
    expect(reg.hasBlob("acme/app", blob.descriptor.digest)).toBe(true);

    const denied: EcrTokenClient = { getAuthorizationToken: () => Promise.reject(awsError("AccessDeniedException", 400)) };
    const refused = createRegistryClient({ fetch: rewrite, credentials: ecrCredentials({ clientFactory: () => denied }) });
    const err = await rejection(refused.pushBlob({ ...location, repository: "acme/other" }, blob));
    expect(err.code).toBe("SDX_REGISTRY_AUTH");
    expect(err.message).toContain("ECR GetAuthorizationToken (us-east-1)");
  });
});
