/**
 * Bun's native sockets (lib/runtime/bun_sockets.ts) under Bun: spawns
 * `./node_modules/.bin/bun tests/sockets/_bun_sockets.ts` and checks the JSON
 * it prints: backpressure with every byte in order, half-close, kept data
 * buffers intact, the upstream side (connect, pause, refusal) and a taken
 * port; and that `SWITCHYARD_BUN_SOCKETS=node` switches them off.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

async function runUnderBun(
  env: Record<string, string>,
  args: string[] = [],
): Promise<Record<string, unknown>> {
  const run = await new Deno.Command(`${ROOT}node_modules/.bin/bun`, {
    args: ["tests/sockets/_bun_sockets.ts", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, stderr);
  const line = new TextDecoder().decode(run.stdout).trim().split("\n").at(-1) ?? "";
  return JSON.parse(line);
}

Deno.test("Bun's native sockets keep node:net's contract: backpressure, half-close, connect, errors", async () => {
  const r = await runUnderBun({});
  assert.equal(r.socketsInUse, "bun");
  const bp = r.backpressure as { received: number; bad: number; falses: number; drains: number };
  assert.equal(bp.received, 16 << 20);
  assert.equal(bp.bad, -1, "every byte in order, none changed by the writer reusing its buffer");
  assert.ok(bp.falses >= 1, "a client not reading makes write() return false");
  assert.equal(bp.drains, bp.falses, "each false is followed by one drain");
  assert.deepEqual(r.halfClose, {
    serverSawEnd: true,
    reply: "got 1800 bytes: part0...0199|",
    keptIntact: true,
  });
  assert.deepEqual(r.connect, {
    gotWhilePaused: "echo:ping",
    got: "echo:pingecho:while-paused",
    closes: [false],
    remote: "127.0.0.1",
  });
  assert.equal(r.refused, "ECONNREFUSED");
  assert.equal(r.taken, "listen 127.0.0.1:PORT: address already in use");
});

Deno.test("under Bun, an upstream connect that never completes is a ConnectError at the connect timeout", async () => {
  // a listener that never accepts: once its accept queue is full, the kernel drops SYNs
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await runUnderBun({}, [String(silent.addr.port)]);
    const hang = r.hang as { error: string; ms: number; open: number };
    assert.equal(hang.error, "ETIMEDOUT: connect to 127.0.0.1:PORT timed out");
    assert.ok(hang.ms >= 250 && hang.ms < 10_000, `timed out after ${hang.ms} ms (asked 300)`);
    assert.equal(hang.open, 0, "no connection counted");
  } finally {
    silent.close();
  }
});

Deno.test("SWITCHYARD_BUN_SOCKETS=node keeps node:net under Bun", async () => {
  const r = await runUnderBun({ SWITCHYARD_BUN_SOCKETS: "node" });
  assert.equal(r.socketsInUse, "node");
});
