import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SdxError } from "@sdx/sdk";
import { PriceCatalog, type PriceCatalogFile } from "./price-catalog.js";

// src/catalog/*.ts and dist/catalog/*.js both sit two levels below the package root.
const CATALOG_DIR = fileURLToPath(new URL("../../catalog/", import.meta.url));

let cached: PriceCatalog | undefined;

/** Path of the embedded catalog file: the newest `catalog-<date>.json` shipped with the package. */
export function embeddedCatalogPath(): string {
  let names: string[];
  try {
    names = readdirSync(CATALOG_DIR).filter((n) => /^catalog-\d{4}-\d{2}-\d{2}\.json$/.test(n));
  } catch {
    names = [];
  }
  const newest = names.sort().at(-1);
  if (!newest) {
    throw new SdxError("SDX_PRICING", `no embedded price catalog in ${CATALOG_DIR}`, {
      fault: "internal",
      hint: "Reinstall @sdx/pricing, or build the catalog with packages/pricing/scripts/build-catalog.mjs.",
    });
  }
  return CATALOG_DIR + newest;
}

/**
 * Parses catalog JSON text. `readVmFile` reads the per-provider files an
 * index names in `vmFiles`; a single-file catalog (inline `vm`) needs none.
 */
export function parseCatalog(text: string, readVmFile?: (name: string) => string): PriceCatalog {
  return new PriceCatalog(JSON.parse(text) as PriceCatalogFile, readVmFile);
}

/**
 * The catalog shipped with the package, read once per process. The index
 * (sources, Fargate, control planes) is small; each provider's machine table
 * is a sibling file parsed on first use (AWS ≈ 50 KB, GCP ≈ 0.3 MB, Azure
 * ≈ 1.7 MB; all three in about 20 ms — see bench/choose-cheapest.mjs).
 */
export function loadEmbeddedCatalog(): PriceCatalog {
  cached ??= parseCatalog(readFileSync(embeddedCatalogPath(), "utf8"), (name) => readFileSync(CATALOG_DIR + name, "utf8"));
  return cached;
}
