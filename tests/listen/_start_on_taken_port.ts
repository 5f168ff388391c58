/**
 * Fixture for `listen_failure_test.ts`, run as its own process under Deno or
 * Bun: opens a proxy listener on a port that is taken (`argv[2]`), the way a
 * library user would, catches the failure and prints its message, then does
 * nothing more. The process must then end by itself: a failed listen that
 * leaves a timer or a socket behind keeps it alive forever (the hang this
 * guards against).
 *
 * Usage: `_start_on_taken_port.ts <port> server|instance`
 *
 * @module
 */
import process from "node:process";
import { GroupRuntime } from "../../lib/proxy/group_runtime.ts";
import { createLogger } from "../../lib/log.ts";
import { ProxyInstance } from "../../lib/proxy/instance.ts";
import { ProxyServer } from "../../lib/proxy/server.ts";

const port = Number(process.argv[2]);
const mode = process.argv[3];
const log = createLogger({
  level: "warn",
  write: (l) => process.stderr.write(l + "\n"),
  now: Date.now,
});

try {
  if (mode === "server") {
    const runtime = new GroupRuntime({ group: "g", log });
    await new ProxyServer({ runtime, log }).listen("127.0.0.1", port);
  } else {
    // as the proxy role does: a config applied and health checks on before listening
    const instance = new ProxyInstance({ id: "p", group: "g", log, source: "test" });
    instance.applyBlob("1", { backend_servers: ["127.0.0.1:9"] });
    instance.setProbing(true);
    await instance.start({ host: "127.0.0.1", port }, { host: "127.0.0.1", port: 0 });
  }
  process.stdout.write("listening (unexpected)\n");
} catch (e) {
  process.stdout.write(`failed: ${(e as Error).message}\n`);
}
