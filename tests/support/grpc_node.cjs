// A real gRPC server and client (@grpc/grpc-js under Node) for the h2 upstream tests.
// Messages are JSON (no .proto needed). Run:
//   node grpc_node.cjs server PORT [CERT KEY]    -> prints "listening PORT"
//   node grpc_node.cjs client TARGET [CA SERVERNAME] -> prints one JSON line of results
"use strict";
const grpc = require("@grpc/grpc-js");
const fs = require("node:fs");

const json = {
  requestSerialize: (o) => Buffer.from(JSON.stringify(o)),
  requestDeserialize: (b) => JSON.parse(b.toString()),
  responseSerialize: (o) => Buffer.from(JSON.stringify(o)),
  responseDeserialize: (b) => JSON.parse(b.toString()),
};
const service = {
  Unary: { path: "/test.Echo/Unary", requestStream: false, responseStream: false, ...json },
  NotFound: { path: "/test.Echo/NotFound", requestStream: false, responseStream: false, ...json },
  Stream: { path: "/test.Echo/Stream", requestStream: false, responseStream: true, ...json },
  Sum: { path: "/test.Echo/Sum", requestStream: true, responseStream: false, ...json },
};

const [mode, a, b, c] = process.argv.slice(2);
if (mode === "server") {
  const server = new grpc.Server();
  server.addService(service, {
    Unary(call, cb) {
      const md = new grpc.Metadata();
      md.set("x-served-by", `port-${a}`);
      call.sendMetadata(md);
      const t = new grpc.Metadata();
      t.set("x-trailer", "kept");
      cb(null, { echo: call.request.msg, xff: call.metadata.get("x-forwarded-for")[0] ?? null }, t);
    },
    NotFound(call, cb) {
      cb({ code: grpc.status.NOT_FOUND, details: `no such thing: ${call.request.msg}` });
    },
    Sum(call, cb) {
      let total = 0;
      let bytes = 0;
      call.on("data", (m) => {
        total += m.n;
        bytes += m.pad.length;
      });
      call.on("end", () => cb(null, { total, bytes }));
    },
    Stream(call) {
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      call.end();
    },
  });
  const creds = b
    ? grpc.ServerCredentials.createSsl(null, [{
      cert_chain: fs.readFileSync(b),
      private_key: fs.readFileSync(c),
    }], false)
    : grpc.ServerCredentials.createInsecure();
  server.bindAsync(`127.0.0.1:${a}`, creds, (err, port) => {
    if (err) {
      console.error(err.message);
      process.exit(1);
    }
    console.log(`listening ${port}`);
  });
} else if (mode === "client") {
  const Client = grpc.makeGenericClientConstructor(service, "Echo");
  const creds = b
    ? grpc.credentials.createSsl(fs.readFileSync(b))
    : grpc.credentials.createInsecure();
  const opts = c ? { "grpc.ssl_target_name_override": c, "grpc.default_authority": c } : {};
  const client = new Client(a, creds, opts);
  const deadline = () => ({ deadline: Date.now() + 20_000 });
  const unary = () =>
    new Promise((resolve) => {
      let headers = null;
      const call = client.Unary({ msg: "hello" }, new grpc.Metadata(), deadline(), (err, res) =>
        resolve({ err: err ? { code: err.code, details: err.details } : null, res, headers }));
      call.on("metadata", (md) => (headers = md.get("x-served-by")[0] ?? null));
      call.on("status", (s) => (unary.trailer = s.metadata.get("x-trailer")[0] ?? null));
    });
  const notFound = () =>
    new Promise((resolve) =>
      client.NotFound(
        { msg: "widget" },
        new grpc.Metadata(),
        deadline(),
        (err) => resolve({ code: err?.code ?? 0, details: err?.details ?? "" }),
      )
    );
  const stream = () =>
    new Promise((resolve) => {
      const got = [];
      const call = client.Stream({ n: 5 }, new grpc.Metadata(), deadline());
      call.on("data", (m) => got.push(m.i));
      call.on("error", (e) => resolve({ got, code: e.code, details: e.details }));
      call.on("status", (s) => s.code === 0 && resolve({ got, code: 0 }));
    });
  const sum = () =>
    new Promise((resolve) => {
      const call = client.Sum(new grpc.Metadata(), deadline(), (err, res) =>
        resolve(err ? { code: err.code, details: err.details } : res));
      // 50 messages of 20 KiB: the request body crosses several flow-control windows
      for (let i = 1; i <= 50; i++) {
        call.write({ n: i, pad: "p".repeat(20 * 1024) });
      }
      call.end();
    });
  const big = () =>
    new Promise((resolve) =>
      client.Unary(
        { msg: "b".repeat(1 << 20) },
        new grpc.Metadata(),
        deadline(),
        (err, res) => resolve(err ? { code: err.code, details: err.details } : res.echo.length),
      )
    );
  (async () => {
    const u = await unary();
    const out = {
      unary: { ...u, trailer: unary.trailer },
      notFound: await notFound(),
      stream: await stream(),
      sum: await sum(),
      big: await big(),
    };
    // many concurrent unary calls share the proxy connection (streams multiplexed)
    const many = await Promise.all(Array.from({ length: 20 }, () => unary()));
    out.concurrentOk = many.filter((r) => r.err === null && r.res.echo === "hello").length;
    console.log(JSON.stringify(out));
    client.close();
  })();
} else {
  console.error("usage: grpc_node.cjs server PORT [CERT KEY] | client TARGET [CA SERVERNAME]");
  process.exit(2);
}
