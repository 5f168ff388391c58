/**
 * Which responses are gRPC responses and their status, for
 * `switchyard_grpc_responses_total{group,code}`. Pure.
 *
 * @module
 */

/** Called with each gRPC response's `grpc-status` (see {@link grpcStatusOf}). */
export type GrpcStatusSink = (code: string) => void;

/**
 * The `grpc-status` of a gRPC response, or null when it is not one:
 * `content-type` must be `application/grpc` or `application/grpc+...`
 * (`;...` parameters allowed); the status comes from the trailers, or for a
 * trailers-only response from its head (pass the head as the fields).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grpcStatusOf } from "./grpc_status.ts";
 * assert.equal(grpcStatusOf("application/grpc", ["grpc-status", "grpc-message"], ["5", "no"]), "5");
 * assert.equal(grpcStatusOf("application/grpc+proto", ["grpc-status"], ["0"]), "0");
 * assert.equal(grpcStatusOf("application/json", ["grpc-status"], ["0"]), null);
 * assert.equal(grpcStatusOf("application/grpc", [], []), null);
 * ```
 */
export function grpcStatusOf(
  contentType: string | null,
  names: readonly string[],
  values: readonly string[],
): string | null {
  if (contentType === null || !isGrpcType(contentType)) return null;
  const i = names.indexOf("grpc-status");
  return i < 0 ? null : values[i]!;
}

function isGrpcType(contentType: string): boolean {
  const t = contentType.toLowerCase();
  if (!t.startsWith("application/grpc")) return false;
  const c = t.charCodeAt(16);
  return Number.isNaN(c) || c === 0x2b /* + */ || c === 0x3b /* ; */;
}
