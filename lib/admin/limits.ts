/**
 * The admin API's size limits, one place for the API, the config repository and `ctl`.
 *
 * ZooKeeper reads at most `jute.maxbuffer` (1 MB by default) per request and drops the connection
 * over a larger one. A config write is one transaction holding the config twice (the node and its
 * history entry, plus the previous version when it was written around the API), so a config must
 * stay well below a third of that: {@linkcode MAX_CONFIG_BYTES}. The request body may be larger
 * (indentation, a client's own formatting) but is bounded too, so a huge body is refused before it
 * is read: {@linkcode MAX_BODY_BYTES}.
 *
 * @module
 */

/** Largest request body the admin API reads (1 MiB); larger bodies get 413 before parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Largest config the admin API stores (256 KiB), measured as stored (indented JSON). */
export const MAX_CONFIG_BYTES = 256 * 1024;

/** A config whose stored form is over {@linkcode MAX_CONFIG_BYTES}. */
export class ConfigTooLargeError extends Error {
  /**
   * @param group the group (or listener) written
   * @param bytes the config's stored size
   * @param limit the limit it is over
   */
  constructor(readonly group: string, readonly bytes: number, readonly limit: number) {
    super(
      `the config of ${group} is ${bytes} bytes as stored, over the limit of ${limit} bytes ` +
        `(${limit / 1024} KiB; ZooKeeper keeps each node below 1 MB, and a write stores the ` +
        `config twice, in its node and in its history)`,
    );
    this.name = "ConfigTooLargeError";
  }
}

/** The message of a body over {@linkcode MAX_BODY_BYTES} (a 413 answer). */
export function bodyTooLargeMessage(limit: number = MAX_BODY_BYTES): string {
  return `the request body is over the limit of ${limit} bytes (${limit / 1024 / 1024} MiB)`;
}
