import assert from "node:assert/strict";
import { h2RequestFields, http1LastChunk, http1ResponseHead } from "./http1_bridge.ts";

Deno.test("h2RequestFields(): pseudo-fields, Host as :authority, connection-specific fields dropped, te only as trailers", () => {
  const table: [string, string[], string[], "none" | "length" | "chunked"][] = [
    [
      "POST /pkg.Svc/Call HTTP/1.1\r\nhost: api:50051\r\ncontent-type: application/grpc\r\n" +
      "te: trailers\r\nconnection: te\r\ntransfer-encoding: chunked\r\nx-forwarded-for: 192.0.2.1",
      [":method", ":scheme", ":path", ":authority", "content-type", "te", "x-forwarded-for"],
      ["POST", "https", "/pkg.Svc/Call", "api:50051", "application/grpc", "trailers", "192.0.2.1"],
      "chunked",
    ],
    [
      "GET /x?y=1 HTTP/1.1\r\nHost: shop\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nTE: gzip\r\n" +
      "Proxy-Connection: keep-alive\r\nX-A: 1",
      [":method", ":scheme", ":path", ":authority", "x-a"],
      ["GET", "https", "/x?y=1", "shop", "1"],
      "none",
    ],
    [
      "PUT /u HTTP/1.0\r\ncontent-length: 3",
      [":method", ":scheme", ":path", ":authority", "content-length"],
      ["PUT", "https", "/u", "10.0.0.1:443", "3"],
      "length",
    ],
    [
      "POST /empty HTTP/1.1\r\nhost: h\r\ncontent-length: 0",
      [":method", ":scheme", ":path", ":authority", "content-length"],
      ["POST", "https", "/empty", "h", "0"],
      "none",
    ],
  ];
  for (const [head, names, values, body] of table) {
    const r = h2RequestFields(head, "https", "10.0.0.1:443");
    assert.deepEqual(r.names, names, head);
    assert.deepEqual(r.values, values, head);
    assert.equal(r.body, body, head);
    assert.equal(r.headRequest, false);
  }
  assert.equal(h2RequestFields("HEAD / HTTP/1.1\r\nhost: h", "http", "").headRequest, true);
});

Deno.test("http1ResponseHead(): framing declared afresh (chunked for a body, length 0 for none, nothing for HEAD/204/304)", () => {
  const table: [number, string[], string[], boolean, boolean, string, boolean][] = [
    [
      200,
      ["content-type"],
      ["application/grpc"],
      false,
      false,
      "content-type: application/grpc\r\ntransfer-encoding: chunked\r\n",
      true,
    ],
    [
      200,
      ["content-type", "grpc-status"],
      ["application/grpc", "5"],
      false,
      true,
      "content-type: application/grpc\r\ngrpc-status: 5\r\ncontent-length: 0\r\n",
      false,
    ],
    [200, ["content-length"], ["12"], false, false, "content-length: 12\r\n", false],
    [200, ["content-length"], ["12"], true, true, "content-length: 12\r\n", false],
    [204, [], [], false, false, "", false],
    [304, ["etag"], ['"a"'], false, true, 'etag: "a"\r\n', false],
    [
      200,
      ["connection", "keep-alive", "transfer-encoding", "x"],
      ["close", "5", "chunked", "y"],
      false,
      false,
      "x: y\r\ntransfer-encoding: chunked\r\n",
      true,
    ],
  ];
  for (const [status, names, values, head, end, fields, chunked] of table) {
    const r = http1ResponseHead(status, names, values, head, end);
    assert.equal(r.text.slice(r.text.indexOf("\r\n") + 2), `${fields}\r\n`, `${status} ${names}`);
    assert.equal(r.chunked, chunked, `${status} ${names}`);
  }
  assert.ok(
    http1ResponseHead(404, [], [], false, true).text.startsWith("HTTP/1.1 404 Not Found\r\n"),
  );
  assert.equal(
    http1ResponseHead(200, ["content-type"], ["text/plain"], false, true).contentType,
    "text/plain",
  );
});

Deno.test("http1LastChunk(): the last chunk with trailer fields", () => {
  assert.equal(
    http1LastChunk(["grpc-status", "grpc-message"], ["0", "OK"]),
    "0\r\ngrpc-status: 0\r\ngrpc-message: OK\r\n\r\n",
  );
  assert.equal(http1LastChunk([], []), "0\r\n\r\n");
});
