/**
 * Keeps the generated Corefile in step with the region map: written at start, and again
 * whenever the regions file changes (CoreDNS's `reload` plugin then picks it up). An invalid
 * regions file is rejected with a logged reason and the last good regions stay in force.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { renderCorefile } from "./corefile.ts";
import type { CorefileSpec, RegionSpec } from "./corefile.ts";
import { followFile, writeFileIfChanged } from "./files.ts";
import type { FileFollower } from "./files.ts";
import { parseRegionsJson } from "./regions.ts";

/** Options of {@link CorefileKeeper}. */
export interface CorefileKeeperOptions {
  /** Where to write the Corefile (null: no Corefile, regions only shown in status). */
  readonly out: string | null;
  /** The Corefile spec for a region map (null with `out` null). */
  readonly spec: ((regions: readonly RegionSpec[]) => CorefileSpec) | null;
  /** The regions file to follow (null: the regions are fixed). */
  readonly regionsFile: string | null;
  /** The regions at start. */
  readonly regions: readonly RegionSpec[];
  readonly log: Logger;
  /** After each write of a changed Corefile. */
  readonly onWrite?: () => void;
  /** After each rejected or unreadable regions file. */
  readonly onRegionsError?: () => void;
  /** How often the regions file is checked (ms, default 1000). */
  readonly pollMs?: number;
}

/**
 * The Corefile writer.
 *
 * @example
 * ```ts ignore
 * const keeper = new CorefileKeeper({ out: "/etc/coredns/Corefile", spec, regionsFile: null,
 *   regions, log });
 * keeper.write(); // throws CorefileError when the spec is invalid
 * keeper.follow();
 * ```
 */
export class CorefileKeeper {
  regions: readonly RegionSpec[];
  writtenAt: number | null = null;
  error: string | null = null;
  readonly #o: CorefileKeeperOptions;
  #follower: FileFollower | null = null;

  constructor(options: CorefileKeeperOptions) {
    this.#o = options;
    this.regions = options.regions;
  }

  /** Renders and writes when the text changed; throws when the spec is invalid. */
  write(): void {
    const { out, spec } = this.#o;
    if (out === null || spec === null) return;
    const text = renderCorefile(spec(this.regions));
    if (writeFileIfChanged(out, text)) {
      this.writtenAt = Date.now();
      this.#o.onWrite?.();
      this.#o.log.info("Corefile written", { file: out, regions: this.regions.map((r) => r.name) });
    }
    this.error = null;
  }

  /** Follows the regions file, if any. */
  follow(): void {
    const file = this.#o.regionsFile;
    if (file === null) return;
    const reject = (message: string) => {
      this.error = `${file}: ${message}`;
      this.#o.onRegionsError?.();
      this.#o.log.warn("regions file rejected; keeping the last good regions", {
        file,
        error: message,
      });
    };
    this.#follower = followFile(file, this.#o.pollMs ?? 1000, (text) => {
      const before = this.regions;
      try {
        this.regions = parseRegionsJson(text);
        this.write();
        this.#o.log.info("regions file applied", {
          file,
          regions: this.regions.map((r) => r.name),
        });
      } catch (e) {
        this.regions = before;
        reject((e as Error).message);
      }
    }, (e) => reject(e.message));
  }

  /** Facts for `/status`. */
  status(): Record<string, unknown> {
    return {
      regions: this.regions,
      regions_file: this.#o.regionsFile,
      corefile: this.#o.out === null ? null : {
        path: this.#o.out,
        written_at: this.writtenAt === null ? null : new Date(this.writtenAt).toISOString(),
        error: this.error,
      },
    };
  }

  /** Stops following the regions file. */
  stop(): void {
    this.#follower?.stop();
  }
}
