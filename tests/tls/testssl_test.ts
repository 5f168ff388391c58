/**
 * testssl.sh (Debian's `testssl.sh` package, installed by deploy/provision.sh)
 * against a proxy's TLS listener under each runtime: protocols (`-p`), cipher
 * categories (`-s`), forward secrecy (`-f`), every cipher per protocol (`-E`)
 * and the known vulnerabilities (`-U`). From its JSON report: nothing below
 * TLS 1.2 is offered, no NULL/anonymous/export/low/3DES/RC4/average-CBC cipher
 * category, every TLS 1.2 suite is ECDHE with AES-GCM or ChaCha20-Poly1305,
 * and no finding is rated above INFO/OK. Uses only the long-standing options
 * and JSON fields of testssl 3.0 (`id`, `severity`, `finding`). About two
 * minutes per runtime.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort, RUNTIMES, startBackends, tempDir } from "../support/processes.ts";
import { startProxy } from "../support/proxy.ts";
import { makeCa, makeCert } from "../support/tls.ts";

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/** Runs testssl and resolves with its JSON findings. */
function testssl(port: number, jsonFile: string): Promise<Finding[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("testssl", [
      ...["--quiet", "--warnings", "off", "--color", "0", "--jsonfile", jsonFile],
      ...["-p", "-s", "-f", "-E", "-U", "--ip", "one", `127.0.0.1:${port}`],
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!fs.existsSync(jsonFile)) {
        reject(new Error(`testssl exited ${code} without a report:\n${out}`));
        return;
      }
      resolve(JSON.parse(fs.readFileSync(jsonFile, "utf8")) as Finding[]);
    });
  });
}

const WEAK_PROTOCOLS = ["SSLv2", "SSLv3", "TLS1", "TLS1_1"];
const WEAK_CATEGORIES = [
  "cipherlist_NULL",
  "cipherlist_aNULL",
  "cipherlist_EXPORT",
  "cipherlist_LOW",
  "cipherlist_3DES_IDEA",
  "cipherlist_AVERAGE",
];
const VULNERABILITIES = ["heartbleed", "CCS", "ticketbleed", "ROBOT", "CRIME_TLS", "POODLE_SSL"]
  .concat(["SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4", "secure_renego"]);
const ABOVE_OK = new Set(["LOW", "MEDIUM", "HIGH", "CRITICAL", "FATAL"]);
const GOOD_TLS12 = /\bECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)\b/;

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `testssl.sh finds no weak protocol, cipher or vulnerability (${runtime})`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("testssl");
      const ca = makeCa(dir);
      const cert = makeCert(dir, "shop", "/CN=shop.test", ["shop.test"], ca);
      const [b1] = await startBackends(1);
      const tlsPort = await freePort();
      const proxy = await startProxy(runtime, { g: { backend_servers: [b1!.address] } }, [
        ...["--tls-listen", `127.0.0.1:${tlsPort}`, "--no-health-checks"],
        ...["--tls-cert", cert.cert, "--tls-key", cert.key],
      ]);
      try {
        const findings = await testssl(tlsPort, path.join(dir, "testssl.json"));
        const byId = new Map(findings.map((f) => [f.id, f]));
        const finding = (id: string) => {
          const f = byId.get(id);
          assert.ok(f, `testssl reported no "${id}"`);
          return f;
        };
        for (const id of WEAK_PROTOCOLS) assert.match(finding(id).finding, /^not offered/, id);
        for (const id of ["TLS1_2", "TLS1_3"]) assert.match(finding(id).finding, /^offered/, id);
        for (const id of WEAK_CATEGORIES) assert.match(finding(id).finding, /^not offered/, id);
        const suites = findings.filter((f) => f.id.startsWith("cipher-"));
        const tls12 = suites.filter((f) => f.id.startsWith("cipher-tls1_2_"));
        assert.ok(tls12.length > 0, "no TLS 1.2 suite listed: did -E run?");
        for (const f of tls12) assert.match(f.finding, GOOD_TLS12, f.finding);
        for (const f of suites) assert.match(f.id, /^cipher-tls1_[23]_/, `offered: ${f.finding}`);
        for (const id of VULNERABILITIES) assert.ok(byId.has(id), `testssl did not check ${id}`);
        const flagged = findings.filter((f) => ABOVE_OK.has(f.severity));
        assert.deepEqual(flagged, [], "findings rated above INFO/OK");
        console.log(
          `testssl (${runtime}): ${
            WEAK_PROTOCOLS.join(", ")
          } not offered; TLS1_2, TLS1_3 offered; ` +
            `${WEAK_CATEGORIES.join(", ")} not offered; ${tls12.length} TLS 1.2 suites, all ` +
            `ECDHE+AEAD (${tls12.map((f) => GOOD_TLS12.exec(f.finding)![0]).join(" ")}); ` +
            `${suites.length - tls12.length} TLS 1.3 suites; checked ${
              VULNERABILITIES.join(", ")
            }; ` +
            `${findings.length} findings, none above INFO/OK`,
        );
      } finally {
        await proxy.process.stop();
        await b1!.process.stop();
      }
    },
  });
}
