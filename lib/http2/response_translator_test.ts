import assert from "node:assert/strict";
import { simpleResponse } from "../http1/forward.ts";
import { ResponseTranslator } from "./response_translator.ts";

function run(text: string, headRequest = false, cut?: number, pauseData = false) {
  const events: string[] = [];
  let body = "";
  const t = new ResponseTranslator(headRequest, {
    head: (s, n, v, end) =>
      events.push(`head ${s} [${n.map((x, i) => `${x}=${v[i]}`).join(" ")}] end=${end}`),
    data: (b, end) => {
      body += new TextDecoder().decode(b);
      if (end) events.push(`end`);
      return !pauseData;
    },
    trailers: (n, v) => events.push(`trailers [${n.map((x, i) => `${x}=${v[i]}`).join(" ")}]`),
  });
  const bytes = new TextEncoder().encode(text);
  const results: boolean[] = [];
  if (cut === undefined) results.push(t.write(text));
  else {
    results.push(t.write(bytes.subarray(0, cut)));
    results.push(t.write(bytes.subarray(cut)));
  }
  return { events, body, done: t.done, results };
}

Deno.test("ResponseTranslator: each framing, any split, the same events", () => {
  const cases: Array<[string, string, boolean, string[], string]> = [
    [
      "content-length",
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: keep-alive\r\nx-request-id: r1\r\n\r\nhello",
      false,
      ["head 200 [content-length=5 x-request-id=r1] end=false", "end"],
      "hello",
    ],
    [
      "chunked with trailers",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 9\r\n\r\n",
      false,
      ["head 200 [trailer=x-sum] end=false", "trailers [x-sum=9]"],
      "abcde",
    ],
    [
      "chunked",
      "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n",
      false,
      ["head 201 [] end=false", "end"],
      "wxyz",
    ],
    [
      "HEAD: the head only",
      "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n",
      true,
      ["head 200 [content-length=12] end=true"],
      "",
    ],
    ["204", "HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n", false, ["head 204 [x-a=1] end=true"], ""],
    ["empty body", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", false, [
      "head 200 [content-length=0] end=true",
    ], ""],
    [
      "100 Continue, then the final response",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
      false,
      ["head 100 [] end=false", "head 200 [content-length=2] end=false", "end"],
      "ok",
    ],
    [
      "a response the proxy makes (simpleResponse)",
      simpleResponse(503, "no backend\n", false, { "retry-after": "1" }),
      false,
      [
        "head 503 [retry-after=1 content-type=text/plain; charset=utf-8 content-length=11] end=false",
        "end",
      ],
      "no backend\n",
    ],
  ];
  for (const [what, text, head, events, body] of cases) {
    for (
      const cut of [
        undefined,
        1,
        10,
        text.indexOf("\r\n\r\n") + 2,
        text.indexOf("\r\n\r\n") + 4,
        text.length - 1,
      ]
    ) {
      const r = run(text, head, cut);
      assert.deepEqual(r.events, events, `${what}, cut at ${cut}`);
      assert.equal(r.body, body, `${what}, cut at ${cut}`);
      assert.ok(r.done, `${what}, cut at ${cut}`);
    }
  }
});

Deno.test("ResponseTranslator: a receiver's pause reaches the writer; bad framing is a bug, thrown", () => {
  const paused = run("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc", false, undefined, true);
  assert.deepEqual(paused.results, [false]);
  const flowing = run("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc");
  assert.deepEqual(flowing.results, [true]);
  assert.throws(
    () => run("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"),
    /bad chunked body/,
  );
  assert.throws(() => run("NOT HTTP\r\n\r\n"), /response translation/);
});
