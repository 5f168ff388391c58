/**
 * The DNS deploy scripts behave as promised: idempotent start/stop/up/down, pid-file based stops,
 * clear failures. Real etcd, CoreDNS, keepalived and namespaces.
 */
import assert from "node:assert/strict";
import {
  REPO,
  run,
  script,
  STATE_DIR,
  stopAll,
  tempDir,
  withDnsLock,
} from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { lab } from "../support/netns_lab.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

function bash(path: string, ...args: string[]) {
  return run(["bash", `${REPO}/${path}`, ...args], { allowFail: true });
}

Deno.test({
  name: "etcd.sh: start twice is one etcd, stop twice is fine, status tells",
  ...OPTIONS,
  fn: () =>
    withDnsLock(async () => {
      const before = await bash("deploy/etcd/etcd.sh", "status", "single");
      if (before.code === 0) {
        console.log("etcd single already runs (not ours): skipped");
        return;
      }
      try {
        await script("deploy/etcd/etcd.sh", "start", "single");
        const pid = (await Deno.readTextFile(`${STATE_DIR}/etcd/single/single/etcd.pid`)).trim();
        const again = await script("deploy/etcd/etcd.sh", "start", "single");
        assert.match(again.stderr, /already running/);
        assert.equal(
          (await Deno.readTextFile(`${STATE_DIR}/etcd/single/single/etcd.pid`)).trim(),
          pid,
        );
        const status = await script("deploy/etcd/etcd.sh", "status", "single");
        assert.match(
          status.stdout,
          new RegExp(`single running pid ${pid} http://127.0.0.1:2379 healthy`),
        );
        assert.equal(
          (await script("deploy/etcd/etcd.sh", "endpoints", "cluster")).stdout.trim(),
          "http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793",
        );
      } finally {
        await script("deploy/etcd/etcd.sh", "stop", "single");
      }
      await script("deploy/etcd/etcd.sh", "stop", "single");
      const after = await bash("deploy/etcd/etcd.sh", "status", "single");
      assert.equal(after.code, 1);
      assert.match(after.stdout, /single stopped/);
      const bad = await bash("deploy/etcd/etcd.sh", "start", "cluster", "--member", "4");
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /--member must be 1\.\.3/);
    }),
});

Deno.test({
  name: "lab.sh: up twice, down twice; nothing left behind",
  ...OPTIONS,
  fn: () =>
    withDnsLock(async () => {
      const before = await bash("deploy/lab/lab.sh", "status");
      if (before.code === 0) {
        console.log("lab already up (not ours): skipped");
        return;
      }
      try {
        await script("deploy/lab/lab.sh", "up");
        await script("deploy/lab/lab.sh", "up");
        const status = await script("deploy/lab/lab.sh", "status");
        assert.match(
          status.stdout,
          new RegExp(`${lab("LAB_NS_CLIENT1")}: eth0=${lab("LAB_CLIENT1_IP")}/24`),
        );
        assert.match(
          status.stdout,
          new RegExp(`host: ${lab("LAB_HOST_IF")}=${lab("LAB_HOST_IP")}/24`),
        );
        // A client reaches both DNS nodes through the router.
        for (const ip of [lab("LAB_DNS1_IP"), lab("LAB_DNS2_IP")]) {
          await run(["ip", "netns", "exec", lab("LAB_NS_CLIENT2"), "ping", "-c1", "-W2", ip]);
        }
      } finally {
        await script("deploy/lab/lab.sh", "down");
      }
      await script("deploy/lab/lab.sh", "down");
      const namespaces = (await run(["ip", "netns", "list"])).stdout;
      assert.equal(/\bswy-/.test(namespaces), false, namespaces);
      const host = await run(["ip", "link", "show", lab("LAB_HOST_IF")], { allowFail: true });
      assert.notEqual(host.code, 0);
    }),
});

Deno.test({
  name: "coredns.sh: a broken Corefile fails start with its log, and leaves nothing running",
  ...OPTIONS,
  fn: () =>
    withDnsLock(async () => {
      const stops: Stop[] = [];
      try {
        const dir = await tempDir("badcore-");
        stops.push(dir.stop);
        const corefile = `${dir.path}/Corefile`;
        await Deno.writeTextFile(
          corefile,
          "example.com:1053 {\n    bind 127.0.0.1\n    ready 127.0.0.1:18054\n    nosuchplugin\n}\n",
        );
        const result = await bash(
          "deploy/coredns/coredns.sh",
          "start",
          "--name",
          "test-bad",
          "--corefile",
          corefile,
        );
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /nosuchplugin/);
        const status = await bash("deploy/coredns/coredns.sh", "status", "--name", "test-bad");
        assert.equal(status.code, 1);
        assert.match(status.stdout, /test-bad stopped/);
      } finally {
        await stopAll(stops);
      }
    }),
});

Deno.test({
  name: "keepalived.sh config: renders a config keepalived accepts; rejects bad input",
  ...OPTIONS,
  fn: async () => {
    const dir = await tempDir("kaconf-");
    try {
      for (const role of ["master", "backup"]) {
        const out = `${dir.path}/${role}.conf`;
        const rendered = await script(
          "deploy/keepalived/keepalived.sh",
          "config",
          "--node",
          `test-${role}`,
          "--role",
          role,
          "--out",
          out,
        );
        assert.equal(rendered.stdout.trim(), out);
        const text = await Deno.readTextFile(out);
        assert.match(text, /state BACKUP/);
        assert.match(text, /nopreempt/);
        assert.match(text, new RegExp(`priority ${role === "master" ? 150 : 100}\\b`));
        assert.match(text, /virtual_router_id 53/);
        assert.match(text, /advert_int 1/);
        assert.match(text, /auth_type PASS/);
        assert.match(text, new RegExp(`${lab("LAB_VIP")}/24 dev eth0`));
        assert.match(text, /check_coredns\.sh http:\/\/127\.0\.0\.1:18053\/health/);
        assert.match(text, /weight 0/);
        assert.equal(text.includes("@"), false, "unrendered placeholder");
        await run(["keepalived", "-t", "-f", out]);
      }
      for (
        const bad of [
          ["--role", "leader"],
          ["--role", "master", "--auth-pass", "much-too-long"],
          ["--role", "master", "--vrid", "300"],
          ["--role", "master", "--vip", "198.18.0.53"],
        ]
      ) {
        const result = await bash(
          "deploy/keepalived/keepalived.sh",
          "config",
          "--node",
          "test-bad",
          "--out",
          `${dir.path}/bad.conf`,
          ...bad,
        );
        assert.notEqual(result.code, 0, bad.join(" "));
      }
    } finally {
      await dir.stop();
    }
  },
});
