import assert from "node:assert/strict";
import net from "node:net";
import { backend, echo } from "../proxy/h2_test_backend.ts";
import { judgeH2Probe } from "./h2_probe.ts";
import { probe, type ProbeTarget } from "./probe.ts";

const target = (port: number, over: Partial<ProbeTarget> = {}): ProbeTarget => ({
  host: "127.0.0.1",
  port,
  type: "http",
  path: "/grpc.health.v1.Health/Check",
  expectedStatus: 200,
  timeoutMs: 5000,
  h2: true,
  ...over,
});

Deno.test("judgeH2Probe(): the configured status, and grpc-status OK, UNIMPLEMENTED or none", () => {
  const table: [number, string | null, number, boolean, string | null][] = [
    [200, "0", 200, true, null],
    [200, "12", 200, true, null],
    [200, null, 200, true, null],
    [204, null, 204, true, null],
    [200, "14", 200, false, "grpc-status 14"],
    [200, "5", 200, false, "grpc-status 5"],
    [415, null, 200, false, "status 415, expected 200"],
    [503, "14", 200, false, "status 503, expected 200"],
  ];
  for (const [status, grpc, expected, ok, error] of table) {
    const r = judgeH2Probe(status, grpc, expected);
    assert.deepEqual(r, { ok, error, status }, `${status} ${grpc}`);
  }
});

Deno.test({
  name: "probe() over HTTP/2: a gRPC call to the health path, judged by status and grpc-status",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let answer: "ok" | "unimplemented" | "unavailable" | "415" = "ok";
    const b = await backend((ctx, session, socket) => {
      if (answer === "ok") echo(ctx, session, socket);
      else if (answer === "415") session.respond(ctx.stream, 415, [], [], true);
      else {
        session.respond(
          ctx.stream,
          200,
          ["content-type", "grpc-status"],
          ["application/grpc", answer === "unimplemented" ? "12" : "14"],
          true,
        );
      }
    });
    try {
      assert.deepEqual(await probe(target(b.port)), { ok: true, error: null, status: 200 });
      assert.deepEqual(b.requests, ["POST /grpc.health.v1.Health/Check \0\0\0\0\0"]);
      answer = "unimplemented";
      assert.equal((await probe(target(b.port))).ok, true);
      answer = "unavailable";
      assert.deepEqual(await probe(target(b.port)), {
        ok: false,
        error: "grpc-status 14",
        status: 200,
      });
      answer = "415";
      assert.equal((await probe(target(b.port))).error, "status 415, expected 200");
      // tcp: a connect is enough, no request
      const before = b.requests.length;
      assert.equal((await probe(target(b.port, { type: "tcp" }))).ok, true);
      assert.equal(b.requests.length, before);
    } finally {
      await b.close();
    }
  },
});

Deno.test({
  name:
    "probe() over HTTP/2 fails on a backend that speaks only HTTP/1.1, and on a refused connect",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const http1 = net.createServer((s) => {
      s.on("data", () => s.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
      s.on("error", () => {});
    });
    await new Promise<void>((resolve) => http1.listen(0, "127.0.0.1", resolve));
    const port = (http1.address() as net.AddressInfo).port;
    try {
      // positive control: the HTTP/1.1 probe passes against it with the status it gives
      assert.equal((await probe(target(port, { h2: false, expectedStatus: 400 }))).ok, true);
      const r = await probe(target(port));
      assert.equal(r.ok, false);
      assert.match(r.error!, /FRAME_SIZE|PROTOCOL|closed|frame/i);
    } finally {
      http1.close();
    }
    const refused = await probe(target(port));
    assert.equal(refused.ok, false);
    assert.match(refused.error!, /ECONNREFUSED/);
  },
});
