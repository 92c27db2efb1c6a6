/**
 * Setup the image specs share: fake registries (and hand-made fault servers)
 * closed after every test, a registry client that does not really wait between
 * retries, a port nothing listens on, and {@link rejection} for asserting on an
 * SdxError. Not part of the runtime API (excluded from the build).
 */
import type { Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { afterEach } from "vitest";
import { isSdxError, type SdxError } from "../../errors/sdx-error.js";
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from "../registry-client.js";
import { startFakeOciRegistry, type FakeOci, type FakeOciOptions } from "./fake-oci-registry.js";

/** What {@link useFakeRegistries} hands a spec. */
export interface FakeRegistries {
  /** Starts a fake registry on 127.0.0.1 that is closed after the current test. */
  fake(options?: FakeOciOptions): Promise<FakeOci>;
  /** Closes a server the test made itself (dropping its connections) after the current test; returns it. */
  closeAfterTest<S extends Server>(server: S): S;
}

/**
 * Registers an `afterEach` that closes what the returned functions started.
 * Call it once at the top level of a spec file.
 */
export function useFakeRegistries(): FakeRegistries {
  let fakes: FakeOci[] = [];
  let servers: Server[] = [];
  afterEach(async () => {
    const [f, s] = [fakes, servers];
    fakes = [];
    servers = [];
    await Promise.all(f.map((r) => r.close()));
    await Promise.all(
      s.map(
        (server) =>
          new Promise((resolve) => {
            server.closeAllConnections();
            server.close(resolve);
          }),
      ),
    );
  });
  return {
    fake: async (options = {}) => {
      const f = await startFakeOciRegistry(options);
      fakes.push(f);
      return f;
    },
    closeAfterTest: (server) => {
      servers.push(server);
      return server;
    },
  };
}

/** A registry client whose backoff returns at once, so retry tests do not wait; `options` override. */
export const testRegistryClient = (options: RegistryClientOptions = {}): RegistryClient => createRegistryClient({ sleep: async () => undefined, ...options });

/** The SdxError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<SdxError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isSdxError(e)) throw new Error(`expected an SdxError, got ${String(e)}`);
  return e;
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
