/**
 * etcd's gRPC protocol, inlined for the single-file executable.
 *
 * The `etcd3` client parses its `.proto` files when it loads, from its package
 * directory: `loadSync(\`${__dirname}/../proto/rpc.proto\`, ...)` in
 * `etcd3/lib/connection-pool.js`. Inside a `bun build --compile` executable
 * `__dirname` is the build host's `node_modules/etcd3/lib` and the files are
 * not there on any other host, so the dns role could not reach etcd. The
 * executable's build (deploy/bun_compile.ts) rewrites that one call to
 * `fromJSON(<the same protocol, parsed at build time>, ...)`: the executable
 * reads no file to speak to etcd.
 *
 * @module
 */
import { createRequire } from "node:module";
import path from "node:path";
import { REPO_ROOT } from "../lib/runtime/role_command.ts";

/** The module of `etcd3` that loads the protocol (a bundler's `onLoad` filter). */
export const ETCD3_PROTO_MODULE: RegExp = /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/;

/** The call that reads the `.proto` files (etcd3 1.1.x, compiled by TypeScript). */
const LOAD_CALL = "(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,";

/**
 * `connection-pool.js`'s source with its `.proto` read replaced by the parsed
 * protocol. Throws when the call is not there exactly once (a new etcd3
 * version): the build must fail rather than ship an executable whose dns role
 * cannot speak to etcd.
 *
 * @param source the module's source
 * @param descriptor the protocol as JSON (see {@link etcdProtocolJson})
 * @returns the rewritten source
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inlineEtcdProtocol } from "./etcd_protos.ts";
 * const src = "const d = (0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, { keepCase: true });";
 * assert.equal(
 *   inlineEtcdProtocol(src, '{"nested":{}}'),
 *   'const d = (0, proto_loader_1.fromJSON)({"nested":{}}, { keepCase: true });',
 * );
 * ```
 */
export function inlineEtcdProtocol(source: string, descriptor: string): string {
  const at = source.indexOf(LOAD_CALL);
  if (at < 0 || source.indexOf(LOAD_CALL, at + 1) >= 0) {
    throw new Error(
      `etcd3's connection-pool.js does not call ${LOAD_CALL} exactly once: ` +
        "this etcd3 version loads its protocol differently; update deploy/etcd_protos.ts",
    );
  }
  return source.slice(0, at) + `(0, proto_loader_1.fromJSON)(${descriptor},` +
    source.slice(at + LOAD_CALL.length);
}

/**
 * etcd's protocol (`etcd3/proto/rpc.proto` and the files it imports), parsed
 * with the option etcd3 parses it with (`keepCase`: field names as in the
 * `.proto`, e.g. `mod_revision`), as protobufjs JSON: what
 * `@grpc/proto-loader`'s `fromJSON` takes. Read from this checkout's
 * node_modules, with the same protobufjs etcd3 uses.
 *
 * @returns the JSON text
 */
export function etcdProtocolJson(): string {
  const etcdRequire = createRequire(path.join(REPO_ROOT, "node_modules", "etcd3", "lib", "x.js"));
  const loaderRequire = createRequire(etcdRequire.resolve("@grpc/proto-loader"));
  const protobuf = loaderRequire("protobufjs") as {
    Root: new () => {
      loadSync(file: string, options: { keepCase: boolean }): {
        resolveAll(): unknown;
        toJSON(): unknown;
      };
    };
  };
  const file = path.join(REPO_ROOT, "node_modules", "etcd3", "proto", "rpc.proto");
  const root = new protobuf.Root().loadSync(file, { keepCase: true });
  root.resolveAll();
  return JSON.stringify(root.toJSON());
}
