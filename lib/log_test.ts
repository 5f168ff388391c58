import assert from "node:assert/strict";
import { createLogger, type LogLevel, parseLogLevel, silentLogger } from "./log.ts";

const T0 = Date.UTC(2025, 11, 30, 12, 0, 0);

/** A logger writing into an array, on a clock that advances 1 ms per line. */
function capture(level: LogLevel, fields?: Record<string, unknown>) {
  const lines: string[] = [];
  let t = T0;
  const log = createLogger({
    level,
    write: (line) => lines.push(line),
    now: () => t++,
    ...(fields ? { fields } : {}),
  });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, parsed };
}

Deno.test("createLogger() writes one JSON object per line with ts, level and msg first", () => {
  const { log, lines } = capture("debug");
  log.info("listening", { port: 8080 });
  assert.equal(lines.length, 1);
  assert.equal(
    lines[0],
    '{"ts":"2025-12-30T12:00:00.000Z","level":"info","msg":"listening","port":8080}',
  );
  assert.ok(!lines[0]!.includes("\n"));
});

Deno.test("createLogger() drops lines below its level", () => {
  const order: LogLevel[] = ["debug", "info", "warn", "error"];
  for (const level of order) {
    const { log, parsed } = capture(level);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    const expected = order.slice(order.indexOf(level));
    assert.deepEqual(parsed().map((l) => l.level), expected, level);
    assert.deepEqual(parsed().map((l) => l.msg), expected.map((l) => l[0]), level);
  }
});

Deno.test("createLogger() reads the clock for every line", () => {
  const { log, parsed } = capture("info");
  log.info("a");
  log.warn("b");
  assert.deepEqual(parsed().map((l) => l.ts), [
    "2025-12-30T12:00:00.000Z",
    "2025-12-30T12:00:00.001Z",
  ]);
});

Deno.test("createLogger() writes lines without fields as just ts, level and msg", () => {
  const { log, parsed } = capture("info");
  log.error("boom");
  assert.deepEqual(parsed(), [{ ts: "2025-12-30T12:00:00.000Z", level: "error", msg: "boom" }]);
});

Deno.test("createLogger() escapes newlines and quotes so a line stays one line", () => {
  const { log, lines, parsed } = capture("info");
  log.info('multi\nline "msg"', { detail: "a\nb" });
  assert.equal(lines[0]!.split("\n").length, 1);
  assert.equal(parsed()[0]!.msg, 'multi\nline "msg"');
  assert.equal(parsed()[0]!.detail, "a\nb");
});

Deno.test("createLogger() keeps its own fields on every line", () => {
  const { log, parsed } = capture("info", { role: "proxy", id: "p1" });
  log.info("up");
  assert.deepEqual(parsed()[0], {
    ts: "2025-12-30T12:00:00.000Z",
    level: "info",
    msg: "up",
    role: "proxy",
    id: "p1",
  });
});

Deno.test("Logger.with() adds fields to every line without changing the parent", () => {
  const { log, parsed } = capture("info", { role: "proxy" });
  const child = log.with({ group: "api" });
  const grandchild = child.with({ backend: "10.0.0.1:80", group: "web" });
  child.info("a");
  grandchild.warn("b", { code: 503 });
  log.info("c");
  assert.deepEqual(parsed().map(({ ts: _, ...rest }) => rest), [
    { level: "info", msg: "a", role: "proxy", group: "api" },
    { level: "warn", msg: "b", role: "proxy", group: "web", backend: "10.0.0.1:80", code: 503 },
    { level: "info", msg: "c", role: "proxy" },
  ]);
});

Deno.test("Logger.with() keeps the parent's level and writer", () => {
  const { log, lines } = capture("warn");
  const child = log.with({ a: 1 });
  child.info("dropped");
  child.warn("kept");
  assert.equal(lines.length, 1);
});

Deno.test("createLogger() lets call fields override the logger's fields", () => {
  const { log, parsed } = capture("info", { group: "api" });
  log.info("x", { group: "override" });
  assert.equal(parsed()[0]!.group, "override");
});

Deno.test("createLogger() never lets a field overwrite ts, level or msg", () => {
  const { log, parsed, lines } = capture("info", { level: "debug" });
  log.with({ msg: "spoofed" }).error("real", { ts: "yesterday", level: "info" });
  assert.deepEqual(parsed()[0], {
    ts: "2025-12-30T12:00:00.000Z",
    level: "error",
    msg: "real",
  });
  assert.match(lines[0]!, /^\{"ts":"[^"]+","level":"error","msg":"real"\}$/);
});

Deno.test("createLogger() replaces fields that cannot be serialized with a note", () => {
  const { log, parsed } = capture("info");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  log.warn("cyclic", { cyclic, other: 1 });
  log.warn("bigint", { n: 10n });
  assert.deepEqual(parsed().map(({ ts: _, ...rest }) => rest), [
    { level: "warn", msg: "cyclic", note: "unserializable fields" },
    { level: "warn", msg: "bigint", note: "unserializable fields" },
  ]);
});

Deno.test("createLogger() writes nested objects, arrays and null as JSON", () => {
  const { log, parsed } = capture("info");
  log.info("x", { list: [1, "a"], nested: { k: null }, missing: undefined });
  const line = parsed()[0]!;
  assert.deepEqual(line.list, [1, "a"]);
  assert.deepEqual(line.nested, { k: null });
  assert.ok(!("missing" in line), "undefined fields are left out");
});

Deno.test("silentLogger drops everything and stays silent through with()", () => {
  silentLogger.debug("x");
  silentLogger.info("x", { a: 1 });
  silentLogger.warn("x");
  silentLogger.error("x");
  assert.equal(silentLogger.with({ a: 1 }), silentLogger);
});

Deno.test("parseLogLevel() accepts the four level names only", () => {
  for (const level of ["debug", "info", "warn", "error"]) assert.equal(parseLogLevel(level), level);
  for (const bad of ["", "INFO", "warning", "trace", "fatal", " info"]) {
    assert.equal(parseLogLevel(bad), null, bad);
  }
});

Deno.test("parseLogLevel() does not accept inherited property names", () => {
  for (const bad of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
    assert.equal(parseLogLevel(bad), null, bad);
  }
});
