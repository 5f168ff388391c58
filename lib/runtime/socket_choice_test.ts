import assert from "node:assert/strict";
import { socketImplementation } from "./socket_choice.ts";

Deno.test("socketImplementation() picks Bun's native sockets under Bun unless told node", () => {
  const cases: [boolean, string | undefined, "bun" | "node"][] = [
    [true, undefined, "bun"],
    [true, "", "bun"],
    [true, "bun", "bun"],
    [true, " BUN ", "bun"],
    [true, "node", "node"],
    [true, "Node", "node"],
    [false, undefined, "node"],
    [false, "bun", "node"],
    [false, "node", "node"],
  ];
  for (const [isBun, env, want] of cases) {
    assert.equal(socketImplementation(isBun, env), want, `${isBun} ${env}`);
  }
});

Deno.test("socketImplementation() names the variable for a bad value", () => {
  assert.throws(
    () => socketImplementation(true, "uring"),
    /SWITCHYARD_BUN_SOCKETS: expected "bun" or "node", got "uring"/,
  );
});
