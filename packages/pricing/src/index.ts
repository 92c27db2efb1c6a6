// @sdx/pricing: embedded price catalog, live AWS price source, cost estimator and
// cheapest-target chooser. Pure parts (catalog lookup, estimate, choose) are exported
// beside the I/O ones (loadEmbeddedCatalog, refreshPrices, lookupPrices).
export * from "./catalog/price-catalog.js";
export * from "./catalog/load-embedded-catalog.js";
export * from "./catalog/lookup-price.js";
export * from "./catalog/service-rates.js";
export * from "./estimate/candidate.js";
export * from "./estimate/replica-plan.js";
export * from "./estimate/node-overhead.js";
export * from "./estimate/pack-replicas.js";
export * from "./estimate/estimate-fargate.js";
export * from "./estimate/estimate-nodes.js";
export * from "./estimate/pack-hosts.js";
export * from "./estimate/estimate-hosts.js";
export * from "./estimate/price-billables.js";
// diffEstimates lives in @sdx/sdk (the plan API uses it); re-exported for convenience.
export { diffEstimates, type ServiceCostDelta } from "@sdx/sdk";
export * from "./choose/choose.js";
export * from "./choose/choose-from-catalog.js";
export * from "./sources/parse-price-list.js";
export * from "./sources/summarise-spot-prices.js";
export * from "./sources/price-cache.js";
export * from "./sources/cached-price-source.js";
export * from "./sources/price-resolver.js";
export * from "./sources/refresh-prices.js";
export * from "./lookup-prices.js";
export * from "./create-cost-estimator.js";
// pricingModule() (inversify) is at "@sdx/pricing/di" so that loading the estimator never loads inversify.
