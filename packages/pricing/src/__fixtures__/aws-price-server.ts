import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * A local stand-in for the AWS Price List Query API (JSON 1.1, X-Amz-Target
 * AWSPriceListService.GetProducts) and EC2 DescribeSpotPriceHistory (EC2 query
 * protocol, XML), serving responses shaped as in pricing-data/api-shapes.md.
 */
export interface FakeAws {
  readonly endpoint: string;
  readonly requests: { api: string; body: Record<string, unknown>; authorization: string }[];
  /** Make the next GetProducts call fail with this AWS error type and status. */
  failNext?: { type: string; status: number };
  close(): Promise<void>;
}

// The m5.large item exactly as in api-shapes.md (the "…" placeholders dropped), Reserved term included.
export const M5_LARGE_ITEM = {
  product: {
    productFamily: "Compute Instance",
    sku: "6C86BEPQVG73ZGGR",
    attributes: {
      instanceType: "m5.large", vcpu: "2", memory: "8 GiB",
      operatingSystem: "Linux", tenancy: "Shared", capacitystatus: "Used",
      preInstalledSw: "NA", licenseModel: "No License required",
      usagetype: "BoxUsage:m5.large", location: "US East (N. Virginia)",
      regionCode: "us-east-1",
      processorArchitecture: "64-bit",
      physicalProcessor: "Intel Xeon Platinum 8175 (Skylake)",
    },
  },
  serviceCode: "AmazonEC2",
  terms: {
    OnDemand: {
      "6C86BEPQVG73ZGGR.JRTCKXETXF": {
        offerTermCode: "JRTCKXETXF", sku: "6C86BEPQVG73ZGGR", effectiveDate: "2021-02-01T00:00:00Z",
        priceDimensions: {
          "6C86BEPQVG73ZGGR.JRTCKXETXF.6YS6EN2CT7": {
            unit: "Hrs", pricePerUnit: { USD: "0.0960000000" },
            beginRange: "0", endRange: "Inf",
            description: "$0.096 per On Demand Linux m5.large Instance Hour",
          },
        },
      },
    },
    Reserved: {
      "6C86BEPQVG73ZGGR.4NA7Y494T4": {
        termAttributes: { LeaseContractLength: "1yr", OfferingClass: "standard", PurchaseOption: "No Upfront" },
        priceDimensions: { "6C86BEPQVG73ZGGR.4NA7Y494T4.6YS6EN2CT7": { unit: "Hrs", pricePerUnit: { USD: "0.0600000000" } } },
      },
    },
  },
  version: "20210205204500",
  publicationDate: "2021-02-05T20:45:00Z",
};

const ec2Item = (sku: string, attrs: Record<string, string>, usd: string, extraDims: Record<string, unknown> = {}) => ({
  product: {
    productFamily: "Compute Instance", sku,
    attributes: {
      operatingSystem: "Linux", tenancy: "Shared", capacitystatus: "Used", preInstalledSw: "NA", licenseModel: "No License required",
      location: "US East (N. Virginia)", regionCode: "us-east-1", processorArchitecture: "64-bit", ...attrs,
    },
  },
  serviceCode: "AmazonEC2",
  terms: {
    OnDemand: {
      [`${sku}.JRTCKXETXF`]: {
        offerTermCode: "JRTCKXETXF", sku, effectiveDate: "2024-06-01T00:00:00Z",
        priceDimensions: { [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: { unit: "Hrs", pricePerUnit: { USD: usd }, beginRange: "0", endRange: "Inf" }, ...extraDims },
      },
    },
  },
  version: "20240601000000",
  publicationDate: "2024-06-01T00:00:00Z",
});

const fargateItem = (sku: string, usagetype: string, usd: string, unit: string) => ({
  product: { productFamily: "Compute", sku, attributes: { servicecode: "AmazonECS", location: "US East (N. Virginia)", regionCode: "us-east-1", usagetype, operation: "" } },
  serviceCode: "AmazonECS",
  terms: { OnDemand: { [`${sku}.JRTCKXETXF`]: { offerTermCode: "JRTCKXETXF", sku, effectiveDate: "2024-06-01T00:00:00Z", priceDimensions: { [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: { unit, pricePerUnit: { USD: usd } } } } } },
  version: "20240601000000",
  publicationDate: "2024-06-01T00:00:00Z",
});

/** Two GetProducts pages for AmazonEC2 and one for AmazonECS, us-east-1 only. */
export const EC2_PAGES: unknown[][] = [
  [M5_LARGE_ITEM],
  [
    ec2Item("GRAVITON3SKU", { instanceType: "m7g.large", vcpu: "2", memory: "8 GiB", usagetype: "BoxUsage:m7g.large", physicalProcessor: "AWS Graviton3 Processor" }, "0.0816000000"),
    // Same type under a capacity reservation: must be skipped.
    ec2Item("RESERVEDCAP", { instanceType: "m5.large", vcpu: "2", memory: "8 GiB", usagetype: "Reservation:m5.large", capacitystatus: "AllocatedCapacityReservation" }, "0.0000000000"),
    // A $0 dimension beside the real one is dropped.
    ec2Item("ZERODIMSKU", { instanceType: "c6i.large", vcpu: "2", memory: "4 GiB", usagetype: "BoxUsage:c6i.large", physicalProcessor: "Intel Xeon 8375C (Ice Lake)" }, "0.0850000000", {
      "ZERODIMSKU.JRTCKXETXF.ZERO": { unit: "Hrs", pricePerUnit: { USD: "0.0000000000" } },
    }),
  ],
];
export const ECS_PAGES: unknown[][] = [
  [
    fargateItem("F1", "USE1-Fargate-vCPU-Hours:perCPU", "0.0404800000", "hours"),
    fargateItem("F2", "USE1-Fargate-GB-Hours", "0.0044450000", "hours"),
    fargateItem("F3", "USE1-Fargate-ARM-vCPU-Hours:perCPU", "0.0323800000", "hours"),
    fargateItem("F4", "USE1-Fargate-ARM-GB-Hours", "0.0035600000", "hours"),
    fargateItem("F5", "USE1-Fargate-EphemeralStorage-GB-Hours", "0.0001110000", "GB-Hours"),
    // Fargate Spot vCPU without its memory rate (so spot memory comes from elsewhere), and a Windows decoy.
    fargateItem("F6", "USE1-SpotUsage-Fargate-vCPU-Hours:perCPU", "0.0121440000", "hours"),
    fargateItem("F7", "USE1-Fargate-Windows-vCPU-Hours:perCPU", "0.0914800000", "hours"),
  ],
];
/** Two DescribeSpotPriceHistory pages: one row per price change per AZ. */
export const SPOT_PAGES = [
  [
    { az: "us-east-1a", type: "m5.large", price: "0.050000", ts: "2021-02-08T01:40:10.000Z" },
    { az: "us-east-1a", type: "m5.large", price: "0.043700", ts: "2021-02-09T01:40:10.000Z" },
    { az: "us-east-1b", type: "m5.large", price: "0.041000", ts: "2021-02-09T03:00:00.000Z" },
  ],
  [
    { az: "us-east-1f", type: "m5.large", price: "0.045500", ts: "2021-02-09T01:40:10.000Z" },
    { az: "us-east-1a", type: "m7g.large", price: "0.039800", ts: "2021-02-09T02:00:00.000Z" },
  ],
];

/** GetProducts responses served as recorded (formats/), by service code and region: PriceList entries are already JSON strings. */
const RECORDED_PAGES: Record<string, unknown> = {
  "AmazonECS\tsa-east-1": JSON.parse(readFileSync(join(import.meta.dirname, "formats/aws-get-products-amazonecs-sa-east-1.json"), "utf8")),
};

const read = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (s += c));
    req.on("end", () => resolve(s));
    req.on("error", reject);
  });

export async function startFakeAws(): Promise<FakeAws> {
  const requests: FakeAws["requests"] = [];
  const fake: FakeAws = { endpoint: "", requests, close: () => new Promise((r) => server.close(() => r())) };
  const server: Server = createServer(async (req, res) => {
    const text = await read(req);
    const authorization = String(req.headers.authorization ?? "");
    const target = String(req.headers["x-amz-target"] ?? "");
    if (target === "AWSPriceListService.GetProducts") {
      const body = JSON.parse(text) as { ServiceCode: string; NextToken?: string; Filters: { Field: string; Value: string }[] };
      requests.push({ api: `GetProducts:${body.ServiceCode}`, body, authorization });
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (fake.failNext) {
        const f = fake.failNext;
        fake.failNext = undefined;
        res.statusCode = f.status;
        res.setHeader("x-amzn-errortype", f.type);
        res.end(JSON.stringify({ __type: f.type, message: "denied" }));
        return;
      }
      const region = body.Filters.find((f) => f.Field === "regionCode")?.Value;
      const recorded = RECORDED_PAGES[`${body.ServiceCode}\t${region}`];
      if (recorded) {
        res.end(JSON.stringify(recorded));
        return;
      }
      const pages = region !== "us-east-1" ? [[]] : body.ServiceCode === "AmazonEC2" ? EC2_PAGES : ECS_PAGES;
      const i = body.NextToken ? Number(body.NextToken) : 0;
      res.end(JSON.stringify({
        FormatVersion: "aws_v1",
        PriceList: pages[i]!.map((item) => JSON.stringify(item)),
        ...(i + 1 < pages.length ? { NextToken: String(i + 1) } : {}),
      }));
      return;
    }
    const params = Object.fromEntries(new URLSearchParams(text));
    if (params.Action === "DescribeSpotPriceHistory") {
      requests.push({ api: "DescribeSpotPriceHistory", body: params, authorization });
      const i = params.NextToken ? Number(params.NextToken) : 0;
      // The history is us-east-1's: other regions (told apart by the signing scope) have none.
      const pages = authorization.includes("/us-east-1/ec2/") ? SPOT_PAGES : [[]];
      const rows = pages[i]!.map(
        (r) => `<item><instanceType>${r.type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${r.price}</spotPrice><timestamp>${r.ts}</timestamp><availabilityZone>${r.az}</availabilityZone></item>`,
      ).join("");
      const next = i + 1 < pages.length ? `<nextToken>${i + 1}</nextToken>` : "";
      res.setHeader("content-type", "text/xml;charset=UTF-8");
      res.end(`<?xml version="1.0" encoding="UTF-8"?>
<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId><spotPriceHistorySet>${rows}</spotPriceHistorySet>${next}</DescribeSpotPriceHistoryResponse>`);
      return;
    }
    res.statusCode = 400;
    res.end("unexpected request");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  (fake as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
