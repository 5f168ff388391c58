/**
 * The orchestrator probes a TLS group over TLS, on the real ZooKeeper, under
 * Deno and Bun: without `tls` a plain probe fails against an HTTPS backend
 * (marked) and passes against a plain one (positive control); with `tls`
 * (the CA file read on the orchestrator's machine) the HTTPS backend is
 * cleared and the plain-HTTP one, whose TLS handshake fails, is marked.
 */
import { healthBackendPath } from "../../lib/store/layout.ts";
import { startHttpsBackend } from "../support/https_backend.ts";
import { RUNTIMES, startBackends, stopAll, tempDir, waitUntil } from "../support/processes.ts";
import { makeCa, makeCert } from "../support/tls.ts";
import { sandbox, startOrchestrator } from "./_support.ts";

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `orchestrator (${runtime}): health probes of a group with tls go over TLS`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dir = tempDir("uptls-orch");
      const ca = makeCa(dir);
      const secure = await startHttpsBackend(
        makeCert(dir, "good", "/CN=backend.test", ["backend.test"], ca),
      );
      const [plain] = await startBackends(1, runtime);
      const sb = await sandbox();
      const orchestrator = await startOrchestrator(runtime, sb.connect, "o1");
      const marked = async (address: string) =>
        await sb.store.exists(healthBackendPath("web", address)) !== null;
      const base = {
        backend_servers: [secure.address, plain!.address],
        health_check_frequency_seconds: 0.2,
        health_check_timeout_seconds: 1,
        healthy_threshold: 1,
        unhealthy_threshold: 1,
      };
      try {
        await sb.setConfig("web", base);
        await waitUntil(
          "plain probes: the HTTPS backend marked, the plain one not",
          async () => await marked(secure.address) && !await marked(plain!.address),
          30_000,
        );
        await sb.setConfig("web", {
          ...base,
          tls: { enabled: true, server_name: "backend.test", ca_file: ca.cert },
        });
        await waitUntil(
          "TLS probes: the HTTPS backend cleared, the plain one marked",
          async () => !await marked(secure.address) && await marked(plain!.address),
          30_000,
        );
        await waitUntil(
          "the SNI name reached the backend",
          () => secure.servernames.includes("backend.test"),
        );
        console.log(`checked (${runtime}): orchestrator probes over TLS`);
      } finally {
        await stopAll([orchestrator, plain!]);
        await secure.close();
        await sb.close();
      }
    },
  });
}
