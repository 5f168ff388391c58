import assert from "node:assert/strict";
import { ProxyMetrics } from "./metrics.ts";

Deno.test("ProxyMetrics.countGrpc counts gRPC responses by group and code; codes beyond 0-16 share `other`", () => {
  const m = new ProxyMetrics(null, undefined, "rpc");
  for (const code of ["0", "0", "5", "16", "17", "garbage"]) m.countGrpc(code);
  const lines = m.registry.render().split("\n").filter((l) =>
    l.startsWith("switchyard_grpc_responses_total{")
  );
  assert.deepEqual(lines.sort(), [
    'switchyard_grpc_responses_total{group="rpc",code="0"} 2',
    'switchyard_grpc_responses_total{group="rpc",code="16"} 1',
    'switchyard_grpc_responses_total{group="rpc",code="5"} 1',
    'switchyard_grpc_responses_total{group="rpc",code="other"} 2',
  ]);
});
