/**
 * The coordination store: public surface. Import from here, not from the implementation files.
 *
 * `connectStore()` picks the implementation from the connection string, so wiring code and
 * roles stay implementation-agnostic: `memory[/chroot]` is the embedded in-process store (one
 * tree shared by everything in the process), anything else is a ZooKeeper ensemble
 * `host:port[,host:port...][/chroot]`. The ZooKeeper client is only loaded when used.
 *
 * @example
 * ```ts
 * import { connectStore } from "./mod.ts";
 * const store = await connectStore({ connectionString: "memory" });
 * await store.ensurePath("/lb-configs");
 * console.assert((await store.children("/lb-configs")).length === 0);
 * await store.close();
 * ```
 *
 * @module
 */

import { MemoryServer } from "./memory.ts";
import type { ConnectOptions, CoordinationStore } from "./types.ts";

export * from "./types.ts";
export { ALL_PERMS, digestAcl, digestId, OPEN_ACL, worldAcl, writerOnlyAcl } from "./acl.ts";
export { parseConnectionString } from "./connection_string.ts";
export { createMemoryStore, MemoryServer, MemoryStore } from "./memory.ts";

let embedded: MemoryServer | undefined;

/**
 * The process-wide in-memory server behind `memory` connection strings.
 *
 * @returns the shared server (created on first use)
 */
export function embeddedServer(): MemoryServer {
  embedded ??= new MemoryServer();
  return embedded;
}

/**
 * Opens a store session for a connection string: `memory[/chroot]` or a ZooKeeper ensemble.
 *
 * @param options connection options
 * @returns the connected store
 */
export async function connectStore(options: ConnectOptions): Promise<CoordinationStore> {
  if (/^memory(\/|$)/.test(options.connectionString)) {
    return await embeddedServer().connect(options);
  }
  const { connectZooKeeper } = await import("./zookeeper.ts");
  return await connectZooKeeper(options);
}
