/**
 * Test support: a real gRPC server and client (@grpc/grpc-js under Node,
 * tests/support/grpc_node.cjs) for the `protocol: "h2"` upstream tests.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { freePort, RoleProcess, waitUntil } from "./processes.ts";
import type { CertFiles } from "./tls.ts";

const SCRIPT = path.join(import.meta.dirname!, "grpc_node.cjs");

/** A gRPC backend process. */
export interface GrpcBackend {
  readonly port: number;
  readonly address: string;
  readonly process: RoleProcess;
}

/** Starts the test service (Unary, NotFound, Stream) on a free port; over TLS with `cert`. */
export async function startGrpcBackend(cert?: CertFiles): Promise<GrpcBackend> {
  const port = await freePort();
  const args = [SCRIPT, "server", String(port), ...(cert ? [cert.cert, cert.key] : [])];
  const proc = new RoleProcess("grpc-backend", spawn("node", args, { stdio: "pipe" }));
  await waitUntil("the gRPC backend to listen", () => {
    if (!proc.running) throw new Error(`gRPC backend exited:\n${proc.log}`);
    return proc.log.includes(`listening ${port}`);
  });
  return { port, address: `127.0.0.1:${port}`, process: proc };
}

/** What the client saw (see grpc_node.cjs). */
export interface GrpcClientResult {
  readonly unary: {
    err: { code: number; details: string } | null;
    res: { echo: string; xff: string | null } | null;
    headers: string | null;
    trailer: string | null;
  };
  readonly notFound: { code: number; details: string };
  readonly stream: { got: number[]; code: number; details?: string };
  readonly concurrentOk: number;
  /** Client streaming: 50 messages (1..50, 20 KiB each) summed by the server. */
  readonly sum: { total: number; bytes: number } | { code: number; details: string };
  /** A 1 MiB unary message echoed: its length back, or the error. */
  readonly big: number | { code: number; details: string };
}

/**
 * Runs the client against `target` (`host:port`): in cleartext (h2c with
 * prior knowledge), or over TLS (ALPN h2) trusting `ca` for `servername`.
 */
export function runGrpcClient(target: string, ca?: string, servername?: string): GrpcClientResult {
  const args = [SCRIPT, "client", target, ...(ca ? [ca, servername ?? ""] : [])];
  const r = spawnSync("node", args, { encoding: "utf8", timeout: 60_000 });
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as GrpcClientResult;
  } catch {
    throw new Error(`gRPC client failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  }
}
