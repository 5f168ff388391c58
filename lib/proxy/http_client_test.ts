import assert from "node:assert/strict";
import { requestHeadFromWeb } from "./http_client.ts";

/** The head's fields named `name` (lower case), in order. */
function named(head: string, name: string): string[] {
  return head.split("\r\n").slice(1).filter((l) => l.toLowerCase().startsWith(`${name}: `))
    .map((l) => l.slice(name.length + 2));
}

Deno.test("requestHeadFromWeb() appends the client to the client's X-Forwarded-For and Forwarded", () => {
  const headers = new Headers();
  headers.append("forwarded", "for=198.51.100.1");
  headers.append("x-forwarded-for", "198.51.100.1");
  headers.append("forwarded", "for=198.51.100.2;proto=https");
  headers.append("x-forwarded-for", "198.51.100.2");
  headers.append("x-forwarded-proto", "https");
  headers.append("x-forwarded-host", "evil.example");
  const req = new Request("http://shop.example/api/x", { headers });
  const head = requestHeadFromWeb(req, "/x", "2001:db8::7", false, -1);
  assert.ok(head.startsWith("GET /x HTTP/1.1\r\nhost: shop.example\r\n"), head);
  assert.deepEqual(named(head, "x-forwarded-for"), [
    "198.51.100.1, 198.51.100.2, 2001:db8::7",
  ]);
  assert.deepEqual(named(head, "forwarded"), [
    'for=198.51.100.1, for=198.51.100.2;proto=https, for="[2001:db8::7]";proto=http;host="shop.example"',
  ]);
  assert.deepEqual(named(head, "x-forwarded-proto"), ["http"]);
  assert.deepEqual(named(head, "x-forwarded-host"), ["shop.example"]);
});

Deno.test("requestHeadFromWeb() without incoming forwarding fields adds the client alone", () => {
  const req = new Request("https://a.example:8443/p", { method: "POST", body: "x" });
  const head = requestHeadFromWeb(req, "/p", "192.0.2.1", true, -1);
  assert.deepEqual(named(head, "x-forwarded-for"), ["192.0.2.1"]);
  assert.deepEqual(named(head, "x-forwarded-proto"), ["https"]);
  assert.deepEqual(named(head, "forwarded"), ['for=192.0.2.1;proto=https;host="a.example:8443"']);
  assert.deepEqual(named(head, "transfer-encoding"), ["chunked"]);
  assert.ok(head.endsWith("\r\n\r\n"));
});
