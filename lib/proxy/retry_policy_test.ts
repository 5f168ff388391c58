import assert from "node:assert/strict";
import { type FailedAttempt, type RetryDecision, retryDecision } from "./retry_policy.ts";

/** A GET whose head went out on a fresh connection that was then reset, first of three backends. */
const BASE: FailedAttempt = {
  method: "GET",
  upgrade: false,
  bodySent: false,
  headSent: true,
  reusedConnection: false,
  responseStarted: false,
  connectionLost: true,
  attempts: 1,
  maxRetries: 2,
  backends: 3,
};

const STALE = { reusedConnection: true };

const CASES: [string, Partial<FailedAttempt>, RetryDecision][] = [
  ["a reset fresh connection goes to another backend", {}, "next_backend"],
  ["a dead reused connection gets a new one to the same backend", STALE, "fresh_connection"],
  [
    "...even when it is the only backend",
    { ...STALE, backends: 1 },
    "fresh_connection",
  ],
  ["...even with max_retries 0", { ...STALE, maxRetries: 0 }, "fresh_connection"],
  [
    "...even after other backends were tried",
    { ...STALE, attempts: 3, backends: 3 },
    "fresh_connection",
  ],
  ["...for PUT and DELETE too (idempotent, no body sent)", {
    ...STALE,
    method: "PUT",
  }, "fresh_connection"],
  ["...and for a POST whose connect failed (nothing sent)", {
    ...STALE,
    method: "POST",
    headSent: false,
    connectionLost: false,
  }, "next_backend"],
  ["a reused connection that answered part of a head is a backend fault", {
    ...STALE,
    responseStarted: true,
  }, "next_backend"],
  ["a garbled answer or a timeout on a reused connection is a backend fault", {
    ...STALE,
    connectionLost: false,
  }, "next_backend"],
  ["a POST sent on a reused connection is never sent twice", {
    ...STALE,
    method: "POST",
  }, "fail"],
  ["a PATCH sent on a reused connection is never sent twice", {
    ...STALE,
    method: "PATCH",
  }, "fail"],
  ["a PUT whose body was sent is never sent twice", {
    ...STALE,
    method: "PUT",
    bodySent: true,
  }, "fail"],
  ["an upgrade is never retried", { ...STALE, upgrade: true }, "fail"],
  ["a POST whose connect was refused goes to another backend", {
    method: "POST",
    headSent: false,
    connectionLost: false,
  }, "next_backend"],
  ["no retry past max_retries", { attempts: 3, maxRetries: 2, backends: 5 }, "fail"],
  ["no retry with max_retries 0", { maxRetries: 0 }, "fail"],
  ["no retry once every backend was tried", { attempts: 2, backends: 2 }, "fail"],
  ["no other backend: 502", { backends: 1 }, "fail"],
];

for (const [name, change, want] of CASES) {
  Deno.test(`retryDecision(): ${name}`, () => {
    assert.equal(retryDecision({ ...BASE, ...change }), want);
  });
}
