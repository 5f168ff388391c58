/**
 * `protocol: "h2"` groups on real proxy processes, under both runtimes,
 * against a real gRPC server and client (@grpc/grpc-js under Node): unary
 * calls with their response metadata and trailers, a NOT_FOUND status with
 * its message, server streaming, 20 calls at once, and the gRPC statuses in
 * `switchyard_grpc_responses_total`; over h2c to the backend with the client
 * on h2c, and over TLS (ALPN h2, verified against the CA) with the client on
 * the proxy's TLS listener. An HTTP/1.1 client gets the trailers as chunked
 * trailers; a TLS backend that does not select h2 (refuses the ALPN, or
 * ignores it) is a 502 with the reason, and never gets an HTTP/1.1 request.
 * Health probes go over HTTP/2 (h2c, and TLS with ALPN h2) and find the gRPC
 * backend healthy, where the HTTP/1.1 probe (the control) finds it unhealthy.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import tlsServer from "node:tls";
import { type GrpcClientResult, runGrpcClient, startGrpcBackend } from "../support/grpc.ts";
import { startHttpsBackend } from "../support/https_backend.ts";
import { freePort, RUNTIMES, stopAll, tempDir, waitUntil } from "../support/processes.ts";
import { type ProxyUnderTest, startProxy } from "../support/proxy.ts";
import { curl, makeCa, makeCert } from "../support/tls.ts";

/** The gRPC counter's series of group g, by code. */
async function grpcCounts(proxy: ProxyUnderTest): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (
    const m of text.matchAll(/^switchyard_grpc_responses_total\{group="g",code="(\w+)"\} (\d+)$/gm)
  ) {
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Every call of grpc_node.cjs's client went through with what the backend sent. */
function assertCalls(r: GrpcClientResult, backendPort: number, log: string): void {
  assert.equal(r.unary.err, null, `${JSON.stringify(r)}\n${log}`);
  assert.equal(r.unary.res?.echo, "hello");
  assert.equal(r.unary.res?.xff, "127.0.0.1", "X-Forwarded-For added by the proxy");
  assert.equal(r.unary.headers, `port-${backendPort}`, "response metadata relayed");
  assert.equal(r.unary.trailer, "kept", "trailer metadata relayed");
  assert.deepEqual(r.notFound, { code: 5, details: "no such thing: widget" });
  assert.deepEqual(r.stream, { got: [0, 1, 2, 3, 4], code: 0 });
  assert.equal(r.concurrentOk, 20);
  assert.deepEqual(r.sum, { total: 1275, bytes: 50 * 20 * 1024 }, "client streaming");
  assert.equal(r.big, 1 << 20, "a 1 MiB message each way");
}

/** A gRPC message frame (uncompressed) carrying `json`. */
function grpcFrame(json: string): Uint8Array {
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `gRPC upstream over h2c (${runtime}): unary with metadata and trailers, NOT_FOUND ` +
      "relayed and counted, server streaming, 20 concurrent calls; HTTP/1.1 clients get " +
      "chunked trailers; probed healthy over HTTP/2 (unhealthy over HTTP/1.1, the control)",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("grpc");
      const backend = await startGrpcBackend();
      // health probes on: over HTTP/2 the gRPC backend is healthy
      const group = {
        backend_servers: [backend.address],
        protocol: "h2",
        health_endpoint: "/grpc.health.v1.Health/Check",
        health_check_frequency_seconds: 0.2,
        healthy_threshold: 1,
        unhealthy_threshold: 2,
      };
      const proxy = await startProxy(runtime, { g: group });
      try {
        await waitUntil(
          "the gRPC backend probed healthy over HTTP/2",
          async () => (await proxy.status()).backends[0]?.health === "healthy",
        );
        const r = runGrpcClient(`127.0.0.1:${proxy.port}`);
        assertCalls(r, backend.port, proxy.process.log);
        // 1 + 20 unary, 1 big unary, 1 server stream and 1 client stream OK; 1 NOT_FOUND
        assert.deepEqual(await grpcCounts(proxy), { "0": 24, "5": 1 });
        console.log(`checked (${runtime}): unary, NOT_FOUND, streaming, 20 concurrent over h2c`);

        // an HTTP/1.1 client that sent TE: trailers gets them as chunked trailers
        const body = path.join(dir, "req.bin");
        fs.writeFileSync(body, grpcFrame('{"msg":"curl"}'));
        const h1 = curl([
          "--http1.1",
          "--raw",
          ...["-H", "te: trailers", "-H", "content-type: application/grpc"],
          ...["--data-binary", `@${body}`],
          `${proxy.url}/test.Echo/Unary`,
        ]);
        assert.equal(h1.status, 200, `${h1.headers}\n${h1.stderr}`);
        assert.match(h1.headers, /transfer-encoding: chunked/i);
        assert.match(h1.body, /"echo":"curl"/);
        assert.match(
          h1.body,
          /\r\n0\r\ngrpc-status: 0\r\ngrpc-message: OK\r\nx-trailer: kept\r\n\r\n$/,
        );
        assert.deepEqual(await grpcCounts(proxy), { "0": 25, "5": 1 });
        console.log(`checked (${runtime}): HTTP/1.1 client got chunked trailers`);

        // control: probed over HTTP/1.1 (protocol absent) the same backend goes unhealthy
        proxy.writeConfig({ g: { ...group, protocol: "http/1.1" } });
        await waitUntil(
          "the gRPC backend probed unhealthy over HTTP/1.1",
          async () => (await proxy.status()).backends[0]?.health === "unhealthy",
        );
        proxy.writeConfig({ g: group });
        await waitUntil(
          "healthy again over HTTP/2",
          async () => (await proxy.status()).backends[0]?.health === "healthy",
        );
        assert.equal(runGrpcClient(`127.0.0.1:${proxy.port}`).unary.res?.echo, "hello");
      } finally {
        await stopAll([proxy, backend]);
      }
    },
  });

  Deno.test({
    name: `gRPC upstream over TLS (${runtime}): h2 by ALPN verified against the CA, the client ` +
      "on the proxy's TLS listener (ALPN h2), probed healthy over TLS+h2; a TLS backend without h2 " +
      "is a 502 with the reason",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("grpc-tls");
      const ca = makeCa(dir);
      const backendCert = makeCert(dir, "grpc", "/CN=grpc.test", ["grpc.test"], ca);
      const backend = await startGrpcBackend(backendCert);
      const http1Only = await startHttpsBackend(
        makeCert(dir, "h1", "/CN=grpc.test", ["grpc.test"], ca),
      );
      const front = makeCert(dir, "front", "/CN=proxy.test", ["proxy.test"], ca);
      const tlsPort = await freePort();
      const tls = { enabled: true, server_name: "grpc.test", ca_file: ca.cert };
      const proxy = await startProxy(runtime, {
        g: {
          backend_servers: [backend.address],
          protocol: "h2",
          tls,
          health_check_frequency_seconds: 0.2,
          healthy_threshold: 1,
        },
      }, [
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert", front.cert],
        ...["--tls-key", front.key],
      ]);
      try {
        await waitUntil(
          "the gRPC backend probed healthy over TLS with ALPN h2",
          async () => (await proxy.status()).backends[0]?.health === "healthy",
        );
        const r = runGrpcClient(`127.0.0.1:${tlsPort}`, ca.cert, "proxy.test");
        assertCalls(r, backend.port, proxy.process.log);
        assert.deepEqual(await grpcCounts(proxy), { "0": 24, "5": 1 });
        console.log(`checked (${runtime}): gRPC over TLS both sides`);

        // a backend that answers TLS but only HTTP/1.1: refused, never spoken to in HTTP/1.1
        const before = await proxy.status();
        proxy.writeConfig({ g: { backend_servers: [http1Only.address], protocol: "h2", tls } });
        await waitUntil("config applied", async () => {
          const s = await proxy.status();
          return s.config!.applied_total > before.config!.applied_total;
        });
        const res = await fetch(`${proxy.url}/x`, { signal: AbortSignal.timeout(20_000) });
        assert.equal(res.status, 502);
        await res.body?.cancel();
        await waitUntil(
          "the ALPN refusal in the log",
          () => /NO_APPLICATION_PROTOCOL/.test(proxy.process.log),
        );
        assert.equal(http1Only.requests(), 0);

        // a TLS backend that ignores ALPN (selects nothing): refused with that reason
        const plainTls = tlsServer.createServer({
          cert: fs.readFileSync(backendCert.cert),
          key: fs.readFileSync(backendCert.key),
        }, (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
        await new Promise<void>((resolve) => plainTls.listen(0, "127.0.0.1", resolve));
        const noAlpn = `127.0.0.1:${(plainTls.address() as { port: number }).port}`;
        try {
          const mid = await proxy.status();
          proxy.writeConfig({ g: { backend_servers: [noAlpn], protocol: "h2", tls } });
          await waitUntil("config applied", async () => {
            const s = await proxy.status();
            return s.config!.applied_total > mid.config!.applied_total;
          });
          const res2 = await fetch(`${proxy.url}/x`, { signal: AbortSignal.timeout(20_000) });
          assert.equal(res2.status, 502);
          await res2.body?.cancel();
          await waitUntil(
            "the ALPN reason in the log",
            () => /did not select h2 by ALPN \(got none\)/.test(proxy.process.log),
          );
        } finally {
          plainTls.close();
        }
      } finally {
        await stopAll([proxy, backend]);
        await http1Only.close();
      }
    },
  });
}
