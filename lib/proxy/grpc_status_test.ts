import assert from "node:assert/strict";
import { grpcStatusOf } from "./grpc_status.ts";

Deno.test("grpcStatusOf() counts only application/grpc responses with a grpc-status", () => {
  const table: [string | null, string[], string[], string | null][] = [
    ["application/grpc", ["grpc-status"], ["0"], "0"],
    ["application/grpc+proto", ["grpc-status"], ["14"], "14"],
    ["application/grpc; charset=utf-8", ["grpc-status"], ["2"], "2"],
    ["Application/GRPC", ["grpc-status"], ["1"], "1"],
    ["application/grpc-web", ["grpc-status"], ["0"], null],
    ["application/json", ["grpc-status"], ["0"], null],
    [null, ["grpc-status"], ["0"], null],
    ["application/grpc", ["grpc-message"], ["x"], null],
  ];
  for (const [type, names, values, want] of table) {
    assert.equal(grpcStatusOf(type, names, values), want, `${type} ${names}`);
  }
});
