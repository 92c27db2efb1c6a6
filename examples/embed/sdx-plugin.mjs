// The sdx CLI's way in to this example: app.yaml names this module under
// `plugins:`, so `sdx plan examples/embed/app.yaml` knows the "directory" target
// kind and prices acme machines from the rate card. Node 22.18+/24 import the
// TypeScript sources directly; a published plugin would ship built JavaScript.
import { definePlugin } from "@sdx/sdk";
import { createDirectoryBackend } from "./src/directory-backend.ts";
import { rateCard } from "./src/rate-card-source.ts";

export default definePlugin({ name: "acme-ship", backends: [createDirectoryBackend()], priceSources: [rateCard] });
