import assert from "node:assert/strict";
import { FlagError, type FlagSpec, formatFlags, parseFlags, parseListen } from "./flags.ts";

const SPECS: readonly FlagSpec[] = [
  {
    name: "listen",
    type: "string",
    value: "HOST:PORT",
    help: "where to listen",
    default: "127.0.0.1:8080",
  },
  { name: "group", type: "string", help: "the group" },
  { name: "workers", type: "number", help: "worker count", default: 1 },
  { name: "drain-seconds", type: "number", value: "S", help: "drain time" },
  { name: "verbose", type: "boolean", help: "more logs", default: false },
  { name: "color", type: "boolean", help: "colored output", default: true },
];

function parse(...argv: string[]) {
  return parseFlags(argv, SPECS);
}

function usageError(argv: string[], message: string): void {
  assert.throws(() => parseFlags(argv, SPECS), (e: unknown) => {
    assert.ok(e instanceof FlagError, `expected FlagError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("parseFlags() with no arguments returns every default, undefined when there is none", () => {
  assert.deepEqual(parse(), {
    listen: "127.0.0.1:8080",
    group: undefined,
    workers: 1,
    "drain-seconds": undefined,
    verbose: false,
    color: true,
  });
});

Deno.test("parseFlags() takes values as --name value", () => {
  const v = parse("--listen", "0.0.0.0:80", "--group", "api", "--workers", "4");
  assert.equal(v.listen, "0.0.0.0:80");
  assert.equal(v.group, "api");
  assert.equal(v.workers, 4);
});

Deno.test("parseFlags() takes values as --name=value", () => {
  const v = parse("--listen=0.0.0.0:80", "--group=a=b", "--workers=4", "--group=");
  assert.equal(v.listen, "0.0.0.0:80");
  assert.equal(v.workers, 4);
  assert.equal(v.group, "", "an explicit empty string value is kept");
  assert.equal(parse("--group=a=b").group, "a=b", "only the first = splits");
});

Deno.test("parseFlags() lets the last occurrence of a flag win", () => {
  assert.equal(parse("--workers", "2", "--workers=3").workers, 3);
  assert.equal(parse("--verbose", "--no-verbose").verbose, false);
});

Deno.test("parseFlags() sets booleans with --name and clears them with --no-name", () => {
  assert.equal(parse("--verbose").verbose, true);
  assert.equal(parse("--no-color").color, false);
  assert.equal(parse("--no-verbose").verbose, false);
});

Deno.test("parseFlags() accepts --name=true and --name=false for booleans", () => {
  assert.equal(parse("--verbose=true").verbose, true);
  assert.equal(parse("--color=false").color, false);
  usageError(["--verbose=yes"], '--verbose takes true or false, not "yes"');
  usageError(["--verbose="], '--verbose takes true or false, not ""');
});

Deno.test("parseFlags() does not let a boolean swallow the next argument", () => {
  usageError(["--verbose", "true"], 'unexpected argument "true"');
});

Deno.test("parseFlags() rejects --no- for flags that are not booleans", () => {
  usageError(["--no-group"], "unknown flag --no-group");
  usageError(["--no-verbose=true"], "unknown flag --no-verbose");
});

Deno.test("parseFlags() parses numbers, including negatives, decimals and exponents", () => {
  assert.equal(parse("--workers", "0").workers, 0);
  assert.equal(parse("--workers", "-3").workers, -3);
  assert.equal(parse("--drain-seconds=2.5")["drain-seconds"], 2.5);
  assert.equal(parse("--drain-seconds", "1e3")["drain-seconds"], 1000);
});

Deno.test("parseFlags() rejects values that are not finite numbers", () => {
  for (const value of ["abc", "", " ", "Infinity", "1,5", "NaN"]) {
    usageError([`--workers=${value}`], `--workers must be a number, not "${value}"`);
  }
});

Deno.test("parseFlags() rejects unknown flags", () => {
  usageError(["--nope"], "unknown flag --nope");
  usageError(["--nope=1"], "unknown flag --nope");
  usageError(["--Listen", "x"], "unknown flag --Listen");
  usageError(["--__proto__"], "unknown flag --__proto__");
  usageError(["--"], "unknown flag --");
});

Deno.test("parseFlags() rejects positional arguments and single-dash flags", () => {
  usageError(["api"], 'unexpected argument "api"');
  usageError(["-v"], 'unexpected argument "-v"');
});

Deno.test("parseFlags() reports a missing value, with the placeholder when there is one", () => {
  usageError(["--listen"], "--listen needs a value (HOST:PORT)");
  usageError(["--group"], "--group needs a value");
  usageError(["--group", "--verbose"], "--group needs a value");
  usageError(["--drain-seconds"], "--drain-seconds needs a value (S)");
});

Deno.test("parseFlags() sets help for --help and -h and keeps parsing", () => {
  assert.equal(parse("--help").help, true);
  assert.equal(parse("-h").help, true);
  const v = parse("--verbose", "--help", "--workers", "2");
  assert.equal(v.help, true);
  assert.equal(v.verbose, true);
  assert.equal(v.workers, 2);
  assert.equal(parse().help, undefined);
});

Deno.test("parseFlags() does not modify the specs' defaults between calls", () => {
  parse("--workers", "9", "--no-color");
  assert.equal(parse().workers, 1);
  assert.equal(parse().color, true);
});

Deno.test("FlagError is an Error", () => {
  assert.ok(new FlagError("x") instanceof Error);
});

Deno.test("formatFlags() aligns one row per flag with placeholders and defaults", () => {
  assert.equal(
    formatFlags(SPECS),
    [
      "  --listen HOST:PORT  where to listen (default: 127.0.0.1:8080)",
      "  --group STRING      the group",
      "  --workers NUMBER    worker count (default: 1)",
      "  --drain-seconds S   drain time",
      "  --verbose           more logs (default: false)",
      "  --color             colored output (default: true)",
    ].join("\n"),
  );
  assert.equal(formatFlags([]), "");
});

Deno.test("parseListen() parses HOST:PORT", () => {
  assert.deepEqual(parseListen("listen", "127.0.0.1:8080"), { host: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("listen", "localhost:1"), { host: "localhost", port: 1 });
  assert.deepEqual(parseListen("listen", "0.0.0.0:65535"), { host: "0.0.0.0", port: 65535 });
});

Deno.test("parseListen() accepts port 0 (any free port)", () => {
  assert.deepEqual(parseListen("listen", "127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
});

Deno.test("parseListen() strips the brackets of an IPv6 host", () => {
  assert.deepEqual(parseListen("listen", "[::1]:8080"), { host: "::1", port: 8080 });
  assert.deepEqual(parseListen("listen", "[::]:80"), { host: "::", port: 80 });
  assert.deepEqual(parseListen("listen", "[2001:db8::1]:443"), { host: "2001:db8::1", port: 443 });
  assert.deepEqual(parseListen("listen", "[fe80::1%eth0]:80"), { host: "fe80::1%eth0", port: 80 });
});

Deno.test("parseListen() rejects anything but HOST:PORT, naming the flag", () => {
  for (
    const value of [
      "",
      "8080",
      ":8080",
      "localhost",
      "localhost:",
      "localhost:http",
      "::1:8080",
      "[::1]",
      "[::1]8080",
      "[]:80",
      "[foo:80",
      "foo]:80",
      "[1.2.3.4]:80",
      "a b:80",
      " localhost:80",
      "host:123456",
      "host:-1",
    ]
  ) {
    assert.throws(
      () => parseListen("admin-listen", value),
      (e: unknown) => {
        assert.ok(e instanceof FlagError);
        assert.equal(e.message, `--admin-listen must be HOST:PORT, not "${value}"`);
        return true;
      },
      value,
    );
  }
});

Deno.test("parseListen() rejects ports above 65535", () => {
  assert.throws(
    () => parseListen("listen", "127.0.0.1:65536"),
    (e: unknown) =>
      e instanceof FlagError && e.message === "--listen: port 65536 is outside 0-65535",
  );
  assert.throws(() => parseListen("listen", "[::1]:99999"), /port 99999 is outside 0-65535/);
});

Deno.test("parseFlags() collects every occurrence of a repeatable flag, in order", () => {
  const specs: FlagSpec[] = [
    { name: "tls-cert", type: "string", value: "FILE", help: "cert", repeatable: true },
  ];
  assert.deepEqual(parseFlags(["--tls-cert", "a", "--tls-cert=b"], specs)["tls-cert"], ["a", "b"]);
  assert.equal(parseFlags([], specs)["tls-cert"], undefined);
  assert.match(formatFlags(specs), /--tls-cert FILE \.\.\./);
});
