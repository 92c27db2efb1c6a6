import { describe, expect, it } from "vitest";
import { isRetryableAwsError, mapEcsError } from "./map-ecs-error.js";

const ctx = { operation: "DescribeServices", target: "ecs", cluster: "shop", region: "us-east-1" };
const aws = (name: string, fault: "client" | "server", status: number) => Object.assign(new Error(`${name} happened`), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe("mapEcsError", () => {
  it.each([
    ["ClusterNotFoundException", "client", 400, "SDX_BACKEND_REJECTED", "user"],
    ["InvalidParameterException", "client", 400, "SDX_BACKEND_REJECTED", "user"],
    ["AccessDeniedException", "client", 400, "SDX_BACKEND_FORBIDDEN", "user"],
    ["ExpiredTokenException", "client", 400, "SDX_BACKEND_AUTH", "user"],
    ["UnrecognizedClientException", "client", 400, "SDX_BACKEND_AUTH", "user"],
    ["ThrottlingException", "client", 400, "SDX_BACKEND_THROTTLED", "backend"],
    ["ServerException", "server", 500, "SDX_BACKEND_ERROR", "backend"],
    ["SomethingNew", "client", 403, "SDX_BACKEND_FORBIDDEN", "user"],
  ] as const)("%s → %s", (name, fault, status, code, who) => {
    const e = mapEcsError(aws(name, fault, status), ctx);
    expect([e.code, e.fault]).toEqual([code, who]);
    expect(e.hint).toBeTruthy();
  });

  it("tells how to fix an unknown cluster", () => {
    const e = mapEcsError(aws("ClusterNotFoundException", "client", 400), ctx);
    expect(e.message).toBe('cluster "shop" does not exist in us-east-1');
    expect(e.hint).toContain("createCluster: true");
  });

  it("maps missing credentials and socket errors", () => {
    const noCreds = Object.assign(new Error("Could not load credentials"), { name: "CredentialsProviderError" });
    expect(mapEcsError(noCreds, ctx).code).toBe("SDX_BACKEND_AUTH");
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(mapEcsError(refused, { ...ctx, endpoint: "http://127.0.0.1:1" })).toMatchObject({ code: "SDX_BACKEND_UNREACHABLE", message: "cannot reach ECS at http://127.0.0.1:1 (ECONNREFUSED)" });
  });

  it("retries throttling and 5xx only", () => {
    expect(isRetryableAwsError(aws("ThrottlingException", "client", 400))).toBe(true);
    expect(isRetryableAwsError(aws("ServerException", "server", 500))).toBe(true);
    expect(isRetryableAwsError(aws("InvalidParameterException", "client", 400))).toBe(false);
    expect(isRetryableAwsError(aws("AccessDeniedException", "client", 400))).toBe(false);
  });
});
