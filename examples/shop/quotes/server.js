// The shop's delivery estimates: GET /quote?days=N → {"deliveredIn": "3d"}.
// Built by sdx from this directory: package.json and package-lock.json give
// the dependencies (a clean production install), server.js is the entry.
import { createServer } from "node:http";
import ms from "ms";

const port = Number(process.env.PORT ?? 8081);
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://quotes");
  if (url.pathname === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  const days = Math.min(Math.max(Number(url.searchParams.get("days") ?? 3) || 3, 1), 30);
  res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify({ deliveredIn: ms(days * 86_400_000), revision: process.env.SDX_SOURCE_REVISION ?? "dev" })}\n`);
});
server.listen(port, () => process.stderr.write(`quotes listening on :${port}\n`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
