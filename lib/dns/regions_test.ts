import assert from "node:assert/strict";
import { parseRegionsFlag, parseRegionsJson, RegionsError } from "./regions.ts";

Deno.test("parseRegionsFlag() reads NAME=CIDR,CIDR;NAME=CIDR", () => {
  assert.deepEqual(parseRegionsFlag("us=198.18.1.0/24,198.18.3.0/24; eu = 198.18.2.0/24 ;"), [
    { name: "us", cidrs: ["198.18.1.0/24", "198.18.3.0/24"] },
    { name: "eu", cidrs: ["198.18.2.0/24"] },
  ]);
  assert.deepEqual(parseRegionsFlag(""), []);
  assert.deepEqual(parseRegionsFlag("v6=2001:DB8::/32"), [{
    name: "v6",
    cidrs: ["2001:db8::/32"],
  }]);
});

Deno.test("parseRegionsFlag() lists every problem", () => {
  const err = (() => {
    try {
      parseRegionsFlag("US=198.18.1.0/24;eu=198.18.1.7/24;ap=10.0.0.0/8;ap2=10.1.0.0/16;x=");
    } catch (e) {
      return e as RegionsError;
    }
    throw new Error("no error");
  })();
  assert.ok(err instanceof RegionsError);
  const text = err.issues.join("\n");
  assert.match(text, /region "US" must be a DNS label/);
  assert.match(text, /host bits set \(did you mean 198\.18\.1\.0\/24\?\)/);
  assert.match(text, /regions "ap" and "ap2" overlap/);
  assert.match(text, /region "x" has no CIDRs/);
  assert.throws(() => parseRegionsFlag("justaname"), /must be NAME=CIDR/);
  assert.throws(() => parseRegionsFlag("a=198.18.1.0/24;a=198.18.2.0/24"), /listed twice/);
});

Deno.test("parseRegionsJson() takes an object or the Corefile spec's list", () => {
  const expected = [
    { name: "r1", cidrs: ["198.18.1.0/24"] },
    { name: "r2", cidrs: ["198.18.2.0/24"] },
  ];
  assert.deepEqual(
    parseRegionsJson('{"r1": ["198.18.1.0/24"], "r2": ["198.18.2.0/24"]}'),
    expected,
  );
  assert.deepEqual(parseRegionsJson(JSON.stringify(expected)), expected);
  assert.throws(() => parseRegionsJson("{"), /not JSON/);
  assert.throws(() => parseRegionsJson('"x"'), /must be an object/);
  assert.throws(() => parseRegionsJson('{"r1": "198.18.1.0/24"}'), /list of CIDRs/);
  assert.throws(() => parseRegionsJson('[{"name": "r1"}]'), /\[0\] must be/);
});
