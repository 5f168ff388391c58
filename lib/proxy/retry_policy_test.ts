import assert from "node:assert/strict";
import {
  type AnsweredAttempt,
  type FailedAttempt,
  type RetryDecision,
  retryDecision,
  statusRetryDecision,
} from "./retry_policy.ts";

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

/** A bodiless GET answered 503 by the first of three backends, 502 and 503 listed. */
const ANSWERED: AnsweredAttempt = {
  method: "GET",
  upgrade: false,
  hasBody: false,
  status: 503,
  onStatus: [502, 503],
  attempts: 1,
  maxRetries: 2,
  backends: 3,
};

const STATUS_CASES: [string, Partial<AnsweredAttempt>, "next_backend" | "relay"][] = [
  ["a listed status goes to another backend", {}, "next_backend"],
  ["...for the other listed status too", { status: 502 }, "next_backend"],
  [
    "...for HEAD, OPTIONS, PUT, DELETE and TRACE without a body",
    { method: "HEAD" },
    "next_backend",
  ],
  ["...OPTIONS", { method: "OPTIONS" }, "next_backend"],
  ["...a bodiless PUT", { method: "PUT" }, "next_backend"],
  ["...DELETE", { method: "DELETE" }, "next_backend"],
  ["...TRACE", { method: "TRACE" }, "next_backend"],
  ["...on the second attempt of three allowed", { attempts: 2 }, "next_backend"],
  ["a status not listed is relayed", { status: 500 }, "relay"],
  ["nothing listed (the default): relayed", { onStatus: [] }, "relay"],
  ["a POST is never sent twice", { method: "POST" }, "relay"],
  ["a PATCH is never sent twice", { method: "PATCH" }, "relay"],
  ["a method unknown to RFC 9110 is not assumed idempotent", { method: "PURGE" }, "relay"],
  ["a GET with a body is not sent twice", { hasBody: true }, "relay"],
  ["a PUT with a body is not sent twice", { method: "PUT", hasBody: true }, "relay"],
  ["an upgrade is never retried", { upgrade: true }, "relay"],
  ["past max_retries the answer is relayed", { attempts: 3, maxRetries: 2, backends: 5 }, "relay"],
  ["with max_retries 0 the answer is relayed", { maxRetries: 0 }, "relay"],
  ["once every backend was tried the last answer is relayed", {
    attempts: 2,
    backends: 2,
  }, "relay"],
  ["one backend: its answer is relayed", { backends: 1 }, "relay"],
];

for (const [name, change, want] of STATUS_CASES) {
  Deno.test(`statusRetryDecision(): ${name}`, () => {
    assert.equal(statusRetryDecision({ ...ANSWERED, ...change }), want);
  });
}
