/**
 * TLS on a proxy's listeners: the checked certificate set (from a
 * {@link CertificateSource}), the SNI table over its secure contexts, the
 * protocol policy, client certificates (mTLS), HSTS, reloads, and the TLS
 * metrics and `/status` section. The proxy server asks it for the server's
 * options and for each connection's {@link ClientTls}; the request path never
 * calls into it.
 *
 * A reload is all or nothing: every pair is read and checked, and only then
 * is the SNI table swapped (one reference), so new handshakes use the new
 * certificates while established connections keep theirs. A bad set is
 * refused (logged, counted, shown in `/status`) and the last good one keeps
 * serving. Private keys are only handed to the TLS stack: never logged, shown
 * or put into an error.
 *
 * @module
 */
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import type { Logger } from "../log.ts";
import { Counter, Gauge, type Registry } from "../metrics/registry.ts";
import { type CheckedPair, checkPairs, sameCertificates } from "../tls/certificate_set.ts";
import type { CertificateSource } from "../tls/certificate_source.ts";
import {
  ALPN_PROTOCOLS,
  type ClientAuth,
  HANDSHAKE_TIMEOUT_MS,
  MIN_TLS_VERSION,
  subjectLine,
  TLS12_CIPHERS,
} from "../tls/protocol_policy.ts";
import { buildSniTable, pickBySni, type SniTable } from "../tls/sni.ts";
import { verifyClientChain } from "../tls/client_chain.ts";
import type { ClientTls } from "./client_side.ts";

/** How TLS is set up (`--tls-*` and `--hsts` flags). */
export interface TlsTerminationOptions {
  readonly source: CertificateSource;
  readonly log: Logger;
  /** Where the TLS metrics go (the proxy's registry). */
  readonly registry: Registry;
  /** Client certificates: not asked for (default), optional, or required. */
  readonly clientAuth?: ClientAuth;
  /** PEM CA bundle that client certificates must chain to (`--tls-client-ca`). */
  readonly clientCaPem?: string | null;
  /** `Strict-Transport-Security` value for responses on TLS connections, or null. */
  readonly hsts?: string | null;
  /** Wall clock in ms (default `Date.now`). */
  readonly wallNow?: () => number;
}

/** What a proxy instance is given for its TLS listener (it adds the logger and registry). */
export type TlsListenerOptions = Omit<TlsTerminationOptions, "log" | "registry"> & {
  /** Where the TLS listener listens (`--tls-listen`). */
  readonly listen: { readonly host: string; readonly port: number };
};

/** A certificate set that could not be used, and why. */
export class TlsSetupError extends Error {}

/** The checked set in use, with its SNI table. */
interface ServingSet {
  readonly pairs: readonly CheckedPair[];
  readonly sni: SniTable<tls.SecureContext>;
  readonly loadedAt: number;
}

/** A refused reload, for `/status`. */
interface Refusal {
  readonly origin: string;
  readonly reason: string;
  readonly at: number;
}

/** Counts of handshakes by result and version, read into the metric at scrape time. */
type HandshakeVersion = "TLSv1.2" | "TLSv1.3" | "none";

/**
 * TLS for one proxy process's TLS listeners.
 *
 * @example
 * ```ts ignore
 * const t = new TlsTermination({ source, log, registry });
 * await t.load(); // throws TlsSetupError naming the flag and file
 * const server = tls.createServer(t.serverOptions(), (s) => accept(s, t.connectionTls(s)));
 * t.attach(server);
 * ```
 */
export class TlsTermination {
  readonly #source: CertificateSource;
  readonly #log: Logger;
  readonly #clientAuth: ClientAuth;
  readonly #clientCaPem: string | null;
  /** The CAs client certificates must chain to (verified here: see client_chain.ts). */
  readonly #clientCas: readonly X509Certificate[];
  readonly #wallNow: () => number;
  /** Shared by every connection without a client certificate: no allocation per connection. */
  readonly #plain: ClientTls;
  readonly #hstsLine: string;
  #set: ServingSet | null = null;
  #refused: Refusal | null = null;
  #stopWatch: (() => void) | null = null;
  #reloading: Promise<void> | null = null;
  #again = false;
  readonly #servers = new Set<tls.Server>();
  readonly #handshakes: Counter;
  readonly #reloads: Counter;
  #reloadsOk = 0;
  #reloadsFailed = 0;

  constructor(options: TlsTerminationOptions) {
    this.#source = options.source;
    this.#log = options.log;
    this.#clientAuth = options.clientAuth ?? "none";
    this.#clientCaPem = options.clientCaPem ?? null;
    if (this.#clientAuth !== "none" && this.#clientCaPem === null) {
      throw new TlsSetupError("--tls-client-auth needs --tls-client-ca FILE");
    }
    this.#clientCas = (this.#clientCaPem?.match(PEM_CERT) ?? []).map((b) => new X509Certificate(b));
    if (this.#clientAuth !== "none" && this.#clientCas.length === 0) {
      throw new TlsSetupError("--tls-client-ca: no PEM certificate found");
    }
    this.#wallNow = options.wallNow ?? Date.now;
    this.#hstsLine = options.hsts ? `strict-transport-security: ${options.hsts}\r\n` : "";
    this.#plain = { responseFields: this.#hstsLine, clientSubject: null };
    const r = options.registry;
    this.#handshakes = r.add(
      new Counter(
        "switchyard_tls_handshakes_total",
        "TLS handshakes on the proxy's TLS listeners, by result (ok, failed) and protocol version " +
          "(none: the handshake failed before one was agreed).",
        ["result", "version"],
      ),
    );
    for (const v of ["TLSv1.2", "TLSv1.3"]) this.#handshakes.labels("ok", v);
    this.#handshakes.labels("failed", "none");
    this.#reloads = r.add(
      new Counter(
        "switchyard_tls_certificate_reloads_total",
        "Certificate reloads, by result (ok: the new set serves; failed: refused, the last good " +
          "set keeps serving).",
        ["result"],
        (c) => {
          c.labels("ok").value = this.#reloadsOk;
          c.labels("failed").value = this.#reloadsFailed;
        },
      ),
    );
    r.add(
      new Gauge(
        "switchyard_tls_certificate_expiry_timestamp_seconds",
        "Each served certificate's notAfter as unix seconds, by name (its first DNS name, " +
          "else its file).",
        ["name"],
        (g) => {
          const pairs = this.#set?.pairs ?? [];
          const names = new Set(pairs.map((p) => p.name));
          g.retain(([name]) => names.has(name!));
          for (const p of pairs) g.labels(p.name).value = Math.floor(p.facts.notAfterMs / 1000);
        },
      ),
    );
  }

  /**
   * Reads and checks the certificates for the first time. Throws
   * {@link TlsSetupError} naming the flag and file and the reason when they
   * cannot be served.
   */
  async load(): Promise<void> {
    const r = await this.#readChecked();
    if (!r.ok) throw new TlsSetupError(`${r.origin}: ${r.reason}`);
    this.#install(r.pairs);
    this.#log.info("TLS certificates loaded", { certificates: this.#describe(r.pairs) });
  }

  /** Starts reloading on changes of the source. */
  watch(): void {
    this.#stopWatch ??= this.#source.watch(() => void this.reload());
  }

  /** Stops watching. */
  stop(): void {
    this.#stopWatch?.();
    this.#stopWatch = null;
  }

  /**
   * Re-reads and re-checks the certificates; new handshakes use them once
   * they pass. One reload at a time; a change during one runs another after.
   */
  reload(): Promise<void> {
    if (this.#reloading !== null) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#again = false;
        await this.#reloadOnce();
      } while (this.#again);
    })().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #reloadOnce(): Promise<void> {
    const r = await this.#readChecked();
    if (!r.ok) {
      this.#reloadsFailed++;
      this.#refused = { origin: r.origin, reason: r.reason, at: this.#wallNow() };
      this.#log.warn("TLS certificates refused; the last good ones keep serving", {
        origin: r.origin,
        reason: r.reason,
      });
      return;
    }
    if (this.#set !== null && sameCertificates(this.#set.pairs, r.pairs)) return;
    this.#install(r.pairs);
    this.#reloadsOk++;
    this.#log.info("TLS certificates reloaded", { certificates: this.#describe(r.pairs) });
  }

  async #readChecked(): Promise<
    { ok: true; pairs: readonly CheckedPair[] } | { ok: false; origin: string; reason: string }
  > {
    const read = await this.#source.read();
    if (!read.ok) return { ok: false, origin: this.#source.description, reason: read.reason };
    return checkPairs(read.pairs);
  }

  #install(pairs: readonly CheckedPair[]): void {
    const entries = pairs.map((p) => ({
      names: p.facts.names,
      value: tls.createSecureContext(this.#contextOptions(p)),
    }));
    this.#set = { pairs, sni: buildSniTable(entries), loadedAt: this.#wallNow() };
    // a client without SNI gets the server's own context in some runtimes (Bun): keep it current
    const first = this.#contextOptions(pairs[0]!);
    for (const server of this.#servers) server.setSecureContext(first);
  }

  /**
   * One pair's context options: the protocol policy lives in every context,
   * since the context SNI picks replaces the server's.
   */
  #contextOptions(p: CheckedPair): tls.SecureContextOptions {
    return {
      cert: p.input.certPem,
      key: p.input.keyPem,
      minVersion: MIN_TLS_VERSION,
      ciphers: TLS12_CIPHERS.join(":"),
      honorCipherOrder: true,
      ...(this.#clientCaPem === null ? {} : { ca: this.#clientCaPem }),
    };
  }

  /** Options for `tls.createServer` (after {@link load}). */
  serverOptions(): tls.TlsOptions {
    const set = this.#set;
    if (set === null) throw new Error("TLS certificates are not loaded");
    return {
      ...this.#contextOptions(set.pairs[0]!),
      ALPNProtocols: [...ALPN_PROTOCOLS],
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      requestCert: this.#clientAuth !== "none",
      // verified by connectionTls on both runtimes (Deno's stack cannot verify client certificates)
      rejectUnauthorized: false,
      SNICallback: (name, cb) => {
        // the set may have been swapped since the server started: read it now
        cb(null, pickBySni(this.#set!.sni, name));
      },
    };
  }

  /** Follows a TLS server: counts its handshakes and keeps its default context current. */
  attach(server: tls.Server): void {
    this.#servers.add(server);
    server.on("tlsClientError", (_e, socket) => {
      this.#handshakes.labels("failed", "none").inc();
      // with a listener attached, closing the socket is ours to do (a handshake timeout
      // would otherwise leave it open)
      socket?.destroy();
    });
    server.on("close", () => this.#servers.delete(server));
  }

  /**
   * What a freshly established TLS connection carries (counted as a
   * successful handshake): the HSTS line, and with client certificates the
   * verified subject. Null when the connection must be refused (a required
   * client certificate missing or not verified): the socket is destroyed.
   */
  connectionTls(socket: tls.TLSSocket): ClientTls | null {
    const version = socket.getProtocol() === "TLSv1.3" ? "TLSv1.3" : "TLSv1.2";
    if (this.#clientAuth === "none") {
      this.#handshakes.labels("ok", version).inc();
      return this.#plain;
    }
    const chain = peerChain(socket);
    const check = verifyClientChain(chain, this.#clientCas, this.#wallNow());
    if (check.ok) {
      this.#handshakes.labels("ok", version).inc();
      return { responseFields: this.#hstsLine, clientSubject: subjectLine(chain[0]!.subject) };
    }
    if (this.#clientAuth === "optional") {
      this.#handshakes.labels("ok", version).inc();
      return this.#plain;
    }
    this.#handshakes.labels("failed", version).inc();
    this.#log.debug("client certificate refused", {
      client: socket.remoteAddress,
      reason: check.reason,
    });
    socket.destroy();
    return null;
  }

  /** Handshake count for a result and version (tests). */
  handshakes(result: "ok" | "failed", version: HandshakeVersion): number {
    return this.#handshakes.labels(result, version).value;
  }

  /** The `/status` section: what is served and the last refusal, never key material. */
  status(): Record<string, unknown> {
    const set = this.#set;
    return {
      source: this.#source.description,
      client_auth: this.#clientAuth,
      hsts: this.#hstsLine !== "",
      loaded_at: set ? new Date(set.loadedAt).toISOString() : null,
      certificates: set ? this.#describe(set.pairs) : [],
      reloads_ok: this.#reloadsOk,
      reloads_failed: this.#reloadsFailed,
      last_refused: this.#refused
        ? {
          origin: this.#refused.origin,
          reason: this.#refused.reason,
          at: new Date(this.#refused.at).toISOString(),
        }
        : null,
    };
  }

  #describe(pairs: readonly CheckedPair[]): Record<string, unknown>[] {
    return pairs.map((p, i) => ({
      name: p.name,
      source: p.input.source ?? "file",
      // a file pair's path, or a ZooKeeper certificate's znode
      [p.input.source === "zookeeper" ? "znode" : "file"]: p.input.label,
      default: i === 0,
      names: p.facts.names,
      subject: p.facts.subject,
      issuer: p.facts.issuer,
      not_after: new Date(p.facts.notAfterMs).toISOString(),
      fingerprint256: p.facts.fingerprint256,
    }));
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The client's certificate chain as sent (leaf first), empty without one. */
function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let peer: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (peer && peer.raw && out.length < 8) {
    try {
      out.push(new X509Certificate(peer.raw));
    } catch {
      break;
    }
    const next: tls.DetailedPeerCertificate | undefined = peer.issuerCertificate;
    if (!next || next === peer || next.fingerprint256 === peer.fingerprint256) break;
    peer = next;
  }
  return out;
}
