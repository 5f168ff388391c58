/**
 * A raw byte tunnel between the client and a backend after the backend
 * answered an Upgrade request (WebSocket) with `101`: frames flow both ways
 * untouched, with backpressure both ways, and closing either side closes the
 * other. CONNECT never gets here: the request parser answers it 501.
 *
 * Why apart: a tunnel outlives its exchange's HTTP framing entirely. It holds
 * the backend lease (the tunnel is in flight on its backend until it closes)
 * and the upstream connection, which is never pooled again.
 *
 * @module
 */
import type { BackendLease } from "../group/backend_lease.ts";
import type { ClientSide } from "./client_side.ts";
import type { UpstreamConnection, UpstreamOwner } from "./upstream_pool.ts";

/**
 * One upgraded connection pair.
 *
 * @example
 * ```ts ignore
 * const tunnel = new Tunnel(client, upstreamConnection, lease);
 * client.startTunnel(tunnel); // client bytes now go to tunnel.fromClient()
 * ```
 */
export class Tunnel implements UpstreamOwner {
  readonly #client: ClientSide;
  readonly #lease: BackendLease;
  #up: UpstreamConnection | null;
  #waitClientDrain = false;
  #waitUpDrain = false;

  /** Takes over `up` (its owner from now on) and `lease` (released when the tunnel ends). */
  constructor(client: ClientSide, up: UpstreamConnection, lease: BackendLease) {
    this.#client = client;
    this.#up = up;
    this.#lease = lease;
    up.owner = this;
  }

  /** Bytes from the client go straight to the backend. */
  fromClient(chunk: Uint8Array): void {
    const up = this.#up;
    if (!up) return;
    if (!up.write(chunk) && !this.#waitUpDrain) {
      this.#waitUpDrain = true;
      this.#client.pauseReading();
    }
  }

  /** The client half-closed: so does the backend's side. */
  clientEnded(): void {
    this.#up?.socket.end();
  }

  /** The client connection closed: the tunnel ends. */
  clientGone(): void {
    this.#lease.release();
    const up = this.#up;
    this.#up = null;
    up?.destroy();
  }

  /** The client stopped reading for too long: drop both sides. */
  clientStalled(): void {
    this.clientGone();
    this.#client.destroy();
  }

  /** True while bytes from the backend wait for the client to read. */
  get waitingForClient(): boolean {
    return this.#waitClientDrain;
  }

  /** The client socket drained: read more from the backend. */
  onClientDrain(): void {
    if (this.#waitClientDrain) {
      this.#waitClientDrain = false;
      this.#up?.socket.resume();
    }
  }

  // ------------------------------------------------------------ UpstreamOwner

  onUpstreamData(chunk: Uint8Array): void {
    if (!this.#client.write(chunk) && !this.#waitClientDrain) {
      this.#waitClientDrain = true;
      this.#up?.socket.pause();
    }
  }

  onUpstreamEnd(): void {
    this.#client.end();
  }

  onUpstreamClose(): void {
    this.#up = null;
    this.#lease.release();
    this.#client.end();
  }

  onUpstreamDrain(): void {
    // unconditional: the request body pump may have paused the client before the 101
    this.#waitUpDrain = false;
    this.#client.resumeReading();
  }
}
