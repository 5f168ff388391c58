import assert from "node:assert/strict";
import { RetryBudget } from "./retry_budget.ts";

/** Takes retries until the budget says no (capped), returning how many went ahead. */
function drain(b: RetryBudget, nowMs: number, cap = 10_000): number {
  let n = 0;
  while (n < cap && b.tryRetry(nowMs)) n++;
  return n;
}

function requests(b: RetryBudget, nowMs: number, n: number): void {
  for (let i = 0; i < n; i++) b.recordRequest(nowMs);
}

Deno.test("RetryBudget allows retries up to ratio times the recent requests", () => {
  const b = new RetryBudget(0.2, 0);
  requests(b, 1000, 10);
  assert.deepEqual([b.tryRetry(1000), b.tryRetry(1000), b.tryRetry(1000)], [true, true, false]);
  const big = new RetryBudget(0.25, 0);
  requests(big, 0, 100);
  assert.equal(drain(big, 0), 25);
});

Deno.test("RetryBudget grows as more requests arrive", () => {
  const b = new RetryBudget(0.5, 0);
  requests(b, 0, 2);
  assert.equal(drain(b, 0), 1);
  requests(b, 0, 2);
  assert.equal(drain(b, 0), 1, "two more requests earn one more retry");
});

Deno.test("RetryBudget with no requests and no floor allows no retry", () => {
  const b = new RetryBudget(0.2, 0);
  assert.equal(b.tryRetry(0), false);
  const zero = new RetryBudget(0, 0);
  requests(zero, 0, 1000);
  assert.equal(zero.tryRetry(0), false);
});

Deno.test("RetryBudget always allows the floor of minPerSecond over its 10 s window", () => {
  const b = new RetryBudget(0, 3);
  assert.equal(drain(b, 0), 30, "3 per second x 10 s, even with no requests");
  const withRequests = new RetryBudget(0.1, 1);
  requests(withRequests, 0, 50);
  assert.equal(drain(withRequests, 0), 15, "ratio and floor add up: 50 x 0.1 + 1 x 10");
});

Deno.test("RetryBudget counts requests and retries over a sliding 10 s window", () => {
  const b = new RetryBudget(0.5, 0);
  requests(b, 0, 10);
  assert.equal(drain(b, 500), 5);
  // nine seconds later the first second is still in the window
  assert.equal(b.tryRetry(9_999), false);
  // at 10 s it has slid out, taking its requests and its retries with it
  assert.equal(b.tryRetry(10_000), false, "no requests left in the window");
  requests(b, 10_000, 4);
  assert.equal(drain(b, 10_000), 2);
});

Deno.test("RetryBudget forgets one-second buckets as they leave the window", () => {
  const b = new RetryBudget(1, 0);
  for (let s = 0; s < 10; s++) requests(b, s * 1000, 1);
  // 10 requests in the window, none retried yet
  assert.equal(drain(b, 9_000), 10);
  // second 0 leaves the window with its request; the retries (taken in second 9) stay
  assert.equal(drain(b, 10_000), 0, "9 requests, 10 retries in the window");
  requests(b, 10_000, 2);
  assert.equal(drain(b, 10_000), 1, "11 requests, 10 retries");
  // at 19 s only seconds 10-19 remain: the 2 requests of second 10 and its 1 retry
  requests(b, 19_000, 3);
  assert.equal(drain(b, 19_000), 4);
});

Deno.test("RetryBudget recovers fully after a long quiet gap", () => {
  const b = new RetryBudget(0.2, 1);
  requests(b, 0, 100);
  assert.equal(drain(b, 0), 30);
  assert.equal(b.tryRetry(5_000), false);
  // far more than a window later, everything is forgotten and only the floor remains
  assert.equal(drain(b, 1_000_000), 10);
});

Deno.test("RetryBudget retries used earlier in the window count against later ones", () => {
  const b = new RetryBudget(0, 1);
  assert.equal(drain(b, 0, 4), 4);
  assert.equal(drain(b, 3_000), 6, "10 in the window, 4 already used");
  assert.equal(drain(b, 10_000), 4, "the 4 retries of second 0 have left the window");
});

Deno.test("RetryBudget ignores time going backwards (it counts in the latest second)", () => {
  const b = new RetryBudget(1, 0);
  requests(b, 5_000, 1);
  requests(b, 4_000, 1);
  assert.equal(drain(b, 3_000), 2);
  assert.equal(b.tryRetry(5_000), false);
});

Deno.test("RetryBudget exposes its settings", () => {
  const b = new RetryBudget(0.2, 10);
  assert.equal(b.ratio, 0.2);
  assert.equal(b.minPerSecond, 10);
});
