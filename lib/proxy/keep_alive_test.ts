import assert from "node:assert/strict";
import { clientKeepAlive, upstreamReusable } from "./keep_alive.ts";

/** [name, requestKeepAlive, endKnown, closing, requestBodyRead, want] */
const CLIENT: [string, boolean, boolean, boolean, boolean, boolean][] = [
  ["a keep-alive request with a framed response stays open", true, true, false, true, true],
  ["Connection: close (or HTTP/1.0 without keep-alive) closes", false, true, false, true, false],
  ["a response end the client cannot find closes", true, false, false, true, false],
  ["a half-closed or draining connection closes", true, true, true, true, false],
  ["a request body left unread closes", true, true, false, false, false],
  ["everything against it closes", false, false, true, false, false],
  ["closing wins over a clean exchange", true, true, true, true, false],
  ["unread body wins even when the client asked to keep it", true, true, false, false, false],
];

for (const [name, ka, endKnown, closing, bodyRead, want] of CLIENT) {
  Deno.test(`clientKeepAlive(): ${name}`, () => {
    assert.equal(clientKeepAlive(ka, endKnown, closing, bodyRead), want);
  });
}

/** [name, framingReusable, responseKeepAlive, strayBytes, requestBodyRead, want] */
const UPSTREAM: [string, boolean, boolean, boolean, boolean, boolean][] = [
  ["a cleanly framed keep-alive exchange is pooled", true, true, false, true, true],
  ["a close-delimited body or a 204 with a body is not", false, true, false, true, false],
  ["Connection: close from the backend is not", true, false, false, true, false],
  ["bytes after the declared end are not", true, true, true, true, false],
  ["an early answer before the whole request body is not", true, true, false, false, false],
  ["nothing in favour", false, false, true, false, false],
];

for (const [name, framing, ka, stray, bodyRead, want] of UPSTREAM) {
  Deno.test(`upstreamReusable(): ${name}`, () => {
    assert.equal(upstreamReusable(framing, ka, stray, bodyRead), want);
  });
}
