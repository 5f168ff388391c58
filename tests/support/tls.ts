/**
 * Test support for TLS: certificates made by the real openssl at test time, as
 * operators make them (a CA, certificates it signs, self-signed PEM pairs), and the real clients operators
 * use against a TLS listener (`openssl s_client`, `curl --resolve`), plus a
 * kept-open `node:tls` connection for keep-alive checks.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";

/** A certificate and key on disk. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** A CA's certificate and key (for client certificates and curl's --cacert). */
export function makeCa(dir: string, name = "test-ca"): CertFiles {
  const files = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", files.key, "-out", files.cert, "-days", "30", "-subj", `/CN=${name}`],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign"],
  ], { stdio: "ignore" });
  return files;
}

/**
 * A certificate for `subject` (e.g. `/CN=shop.test/O=Acme`) with DNS names
 * `sans` (none: no subjectAltName), signed by `ca`, with a P-256 key (or an
 * RSA-2048 one: `key: "rsa"`). Written to `<file>.crt` and `<file>.key` in `dir`.
 */
export function makeCert(
  dir: string,
  file: string,
  subject: string,
  sans: readonly string[],
  ca: CertFiles,
  days = 30,
  key: "ec" | "rsa" = "ec",
): CertFiles {
  const san = sans.length > 0 ? `subjectAltName=${sans.map((s) => `DNS:${s}`).join(",")}` : "";
  return issue(dir, file, subject, san, ca, days, key);
}

/** A PEM certificate and its PEM private key, as strings (for the API, ctl and ZooKeeper). */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/**
 * A self-signed P-256 certificate for `cn` with the given subjectAltName (e.g.
 * `DNS:a.example.com,DNS:*.a.example.com`), valid from now for `days` (negative: expired).
 */
export function selfSignedCertificate(cn: string, san: string, days = 30): PemPair {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swy-testcert-"));
  try {
    const files = issue(dir, "c", `/CN=${cn}`, `subjectAltName=${san}`, "self", days);
    return { cert: fs.readFileSync(files.cert, "utf8"), key: fs.readFileSync(files.key, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Makes a P-256 (or RSA-2048) key and a certificate for it, signed by `signer` or by itself.
 * `x509 -req` rather than `req -x509`, because it takes a negative `-days` (notAfter before now).
 */
function issue(
  dir: string,
  file: string,
  subject: string,
  extension: string,
  signer: CertFiles | "self",
  days: number,
  key: "ec" | "rsa" = "ec",
): CertFiles {
  const files = { cert: path.join(dir, `${file}.crt`), key: path.join(dir, `${file}.key`) };
  const csr = path.join(dir, `${file}.csr`);
  const ext = path.join(dir, `${file}.ext`);
  const newKey = key === "rsa"
    ? ["-newkey", "rsa:2048"]
    : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  execFileSync("openssl", [
    ...["req", "-new", ...newKey, "-nodes"],
    ...["-keyout", files.key, "-out", csr, "-subj", subject],
  ], { stdio: "ignore" });
  fs.writeFileSync(ext, `${extension}\n`);
  const signing = signer === "self"
    ? ["-signkey", files.key]
    : ["-CA", signer.cert, "-CAkey", signer.key, "-CAcreateserial"];
  execFileSync("openssl", [
    ...["x509", "-req", "-in", csr, ...signing],
    ...["-out", files.cert, "-days", String(days), "-extfile", ext],
  ], { stdio: "ignore" });
  return files;
}

/** SHA-256 fingerprint (`AA:BB:...`) of a PEM certificate file's leaf. */
export function fingerprintOf(certFile: string): string {
  return new X509Certificate(fs.readFileSync(certFile)).fingerprint256;
}

/** What `openssl s_client` saw. */
export interface HandshakeSeen {
  /** The handshake completed. */
  readonly ok: boolean;
  /** The server certificate's SHA-256 fingerprint, or null. */
  readonly fingerprint: string | null;
  /** `TLSv1.2` / `TLSv1.3`, or null. */
  readonly protocol: string | null;
  /** The session was resumed (`Reused`). */
  readonly reused: boolean;
  readonly output: string;
}

/**
 * Runs `openssl s_client` against `127.0.0.1:port` with `args` (e.g.
 * `-servername shop.test`, `-tls1_1`, `-sess_out FILE`) and reports what it
 * saw. `input` is sent once connected (with `-ign_eof`, a request with
 * `connection: close` keeps the client until the server has answered and sent
 * its TLS 1.3 session tickets).
 */
export function sClient(port: number, args: readonly string[], input = ""): HandshakeSeen {
  const r = spawnSync("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    ...args,
  ], { input, encoding: "utf8", timeout: 30_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout);
  const line = /^(New|Reused), (TLSv1\.\d)/m.exec(r.stdout);
  const ok = line !== null && !/Cipher is \(NONE\)/.test(r.stdout);
  return {
    ok,
    fingerprint: pem ? new X509Certificate(pem[0]).fingerprint256 : null,
    protocol: ok ? line![2]! : null,
    reused: line?.[1] === "Reused",
    output,
  };
}

/** A curl run's outcome. */
export interface CurlResult {
  readonly status: number;
  /** Exit code of curl (0: a response came). */
  readonly code: number;
  readonly headers: string;
  readonly body: string;
  readonly stderr: string;
}

/**
 * `curl -i` of `https://<host>:<port><path>` resolved to 127.0.0.1 and
 * verified against `ca`, with extra `args` (e.g. `-H`, `--cert`).
 */
export function curlHttps(
  host: string,
  port: number,
  pathname: string,
  ca: string,
  args: readonly string[] = [],
): CurlResult {
  return curl([
    "--resolve",
    `${host}:${port}:127.0.0.1`,
    "--cacert",
    ca,
    ...args,
    `https://${host}:${port}${pathname}`,
  ]);
}

/** `curl -i` with `args`. */
export function curl(args: readonly string[]): CurlResult {
  const r = spawnSync("curl", ["-sS", "-i", "--max-time", "20", ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  const out = r.stdout ?? "";
  const split = out.indexOf("\r\n\r\n");
  const headers = split < 0 ? out : out.slice(0, split);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1] ?? 0);
  return {
    status,
    code: r.status ?? -1,
    headers,
    body: split < 0 ? "" : out.slice(split + 4),
    stderr: r.stderr ?? "",
  };
}

/** A TLS connection kept open for several keep-alive requests. */
export interface KeptConnection {
  /** The server certificate's SHA-256 fingerprint at the handshake. */
  readonly fingerprint: string;
  /** Sends a GET and resolves with the raw response (head and a content-length body). */
  get(pathname: string, host: string): Promise<string>;
  close(): void;
}

/** Opens a TLS connection to `127.0.0.1:port` for `servername` (certificate not verified). */
export function keptConnection(port: number, servername: string): Promise<KeptConnection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      resolve({
        fingerprint,
        get: (pathname, host) =>
          new Promise((done, fail) => {
            let got = Buffer.alloc(0);
            const onData = (chunk: Buffer) => {
              got = Buffer.concat([got, chunk]);
              const text = got.toString("latin1");
              const end = text.indexOf("\r\n\r\n");
              if (end < 0) return;
              const len = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
              if (got.length >= end + 4 + len) {
                socket.off("data", onData);
                socket.off("close", onClose);
                done(text);
              }
            };
            const onClose = () => fail(new Error("connection closed before the response"));
            socket.on("data", onData);
            socket.once("close", onClose);
            socket.write(`GET ${pathname} HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
          }),
        close: () => socket.destroy(),
      });
    });
  });
}
