/**
 * Compiles the single-file executable with Bun's bundler API (run by Bun:
 * `bun deploy/bun_compile.ts ENTRY OUTFILE [ASSET...]`; deploy/executable.ts
 * does). The API rather than `bun build --compile` because the executable
 * needs one plugin: the etcd3 client's protocol inlined (deploy/etcd_protos.ts),
 * so the dns role reads no `.proto` file at run time.
 *
 * @module
 */
import fs from "node:fs";
import process from "node:process";
import { ETCD3_PROTO_MODULE, etcdProtocolJson, inlineEtcdProtocol } from "./etcd_protos.ts";

/** The part of Bun's bundler API used here (Deno type-checks this file too). */
interface BunBuildApi {
  build(config: {
    entrypoints: string[];
    compile: { outfile: string; assets: string[] };
    plugins: {
      name: string;
      setup(build: {
        onLoad(
          options: { filter: RegExp },
          load: (args: { path: string }) => { contents: string; loader: "js" },
        ): void;
      }): void;
    }[];
  }): Promise<{ success: boolean; logs: unknown[] }>;
}

const bun = (globalThis as unknown as { Bun?: BunBuildApi }).Bun;
const [entry, outfile, ...assets] = process.argv.slice(2);
if (!bun || !entry || !outfile) {
  process.stderr.write("usage (under Bun): bun deploy/bun_compile.ts ENTRY OUTFILE [ASSET...]\n");
  process.exit(2);
}
const protocol = etcdProtocolJson();
let inlined = 0;
const result = await bun.build({
  entrypoints: [entry],
  compile: { outfile, assets },
  plugins: [{
    name: "etcd3-protocol-inline",
    setup(build) {
      build.onLoad({ filter: ETCD3_PROTO_MODULE }, (args) => {
        inlined++;
        const source = fs.readFileSync(args.path, "utf8");
        return { contents: inlineEtcdProtocol(source, protocol), loader: "js" };
      });
    },
  }],
});
if (!result.success) {
  process.stderr.write(`bun build failed:\n${result.logs.map(String).join("\n")}\n`);
  process.exit(1);
}
if (inlined !== 1) {
  process.stderr.write(`etcd3's connection-pool.js was bundled ${inlined} times (want 1)\n`);
  process.exit(1);
}
