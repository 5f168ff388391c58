/**
 * The DNS deploy scripts behave as promised: idempotent start/stop/up/down, pid-file based stops,
 * clear failures. Real etcd, CoreDNS, keepalived and namespaces. The etcd and lab tests run the
 * scripts on resources of their own (state dir, ports, namespace and link names, addresses), so
 * they test everything even while the main etcd or lab is up (issue 12, point 8).
 */
import assert from "node:assert/strict";
import { REPO, run, script, stopAll, tempDir, withDnsLock } from "../support/dns_stack.ts";
import type { Stop } from "../support/dns_stack.ts";
import { lab } from "../support/netns_lab.ts";
import { freePort } from "../support/processes.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false };

function bash(path: string, ...args: string[]) {
  return run(["bash", `${REPO}/${path}`, ...args], { allowFail: true });
}

Deno.test({
  name: "etcd.sh: start twice is one etcd, stop twice is fine, status tells",
  ...OPTIONS,
  fn: async () => {
    // Its own etcd: a state dir (pid file, data, log) and ports of its own, so it runs fully
    // even while another etcd (the loopback profile on 2379, a developer's) is up.
    const state = await tempDir("etcd-script-");
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const env = {
      SWITCHYARD_STATE_DIR: state.path,
      SWITCHYARD_ETCD_CLIENT_PORT: String(clientPort),
      SWITCHYARD_ETCD_PEER_PORT: String(peerPort),
    };
    const etcd = (...args: string[]) =>
      run(["bash", `${REPO}/deploy/etcd/etcd.sh`, ...args], { allowFail: true, env });
    const must = async (...args: string[]) => {
      const result = await etcd(...args);
      assert.equal(result.code, 0, `etcd.sh ${args.join(" ")}: ${result.stderr}`);
      return result;
    };
    const pidFile = `${state.path}/etcd/single/single/etcd.pid`;
    const url = `http://127.0.0.1:${clientPort}`;
    try {
      const before = await etcd("status", "single");
      assert.equal(before.code, 1, "a fresh state dir has no etcd");
      assert.match(before.stdout, new RegExp(`single stopped ${url}`));
      assert.equal((await must("endpoints", "single")).stdout.trim(), url);
      await must("start", "single");
      const pid = (await Deno.readTextFile(pidFile)).trim();
      const again = await must("start", "single");
      assert.match(again.stderr, /already running/);
      assert.equal((await Deno.readTextFile(pidFile)).trim(), pid);
      const status = await must("status", "single");
      assert.match(status.stdout, new RegExp(`single running pid ${pid} ${url} healthy`));
      // It is an etcd on the test's port (not some other one).
      const health = await run(["etcdctl", `--endpoints=${url}`, "endpoint", "health"]);
      assert.match(health.stdout + health.stderr, /is healthy/);
      assert.equal(
        (await must("endpoints", "cluster")).stdout.trim(),
        "http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793",
      );
    } finally {
      await etcd("stop", "single");
    }
    try {
      await must("stop", "single");
      const after = await etcd("status", "single");
      assert.equal(after.code, 1);
      assert.match(after.stdout, /single stopped/);
      const bad = await etcd("start", "cluster", "--member", "4");
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /--member must be 1\.\.3/);
      const badPort = await run(["bash", `${REPO}/deploy/etcd/etcd.sh`, "status", "single"], {
        allowFail: true,
        env: { ...env, SWITCHYARD_ETCD_CLIENT_PORT: "70000" },
      });
      assert.notEqual(badPort.code, 0);
      assert.match(badPort.stderr, /SWITCHYARD_ETCD_CLIENT_PORT.*got 70000/);
    } finally {
      await state.stop();
    }
  },
});

/**
 * deploy/lab/lab.env with the test's own names and addresses: namespaces, bridges and the host's
 * leg `swyt-*` instead of `swy-*`, addresses in 198.19.0.0/16 instead of 198.18.0.0/15's first
 * half. Its routes are more specific than the main lab's, so both labs work side by side.
 */
function privateLabEnv(): string {
  const text = Deno.readTextFileSync(`${REPO}/deploy/lab/lab.env`);
  return text
    .replace(/=swy-/g, "=swyt-")
    .replace(/^LAB_RANGE=.*$/m, "LAB_RANGE=198.19.0.0/16")
    .replace(/198\.18\./g, "198.19.");
}

Deno.test({
  name: "lab.sh: up twice, down twice; nothing left behind",
  ...OPTIONS,
  // The lock only keeps two runs of this test apart (same private names); the main lab may be up.
  fn: () =>
    withDnsLock(async () => {
      const state = await tempDir("lab-script-");
      const labEnvFile = `${state.path}/lab.env`;
      await Deno.writeTextFile(labEnvFile, privateLabEnv());
      const env = { SWITCHYARD_STATE_DIR: state.path, SWITCHYARD_LAB_ENV: labEnvFile };
      const labSh = (...args: string[]) =>
        run(["bash", `${REPO}/deploy/lab/lab.sh`, ...args], { allowFail: true, env });
      const must = async (...args: string[]) => {
        const result = await labSh(...args);
        assert.equal(result.code, 0, `lab.sh ${args.join(" ")}: ${result.stderr}`);
        return result;
      };
      const value = (name: string) => {
        const match = new RegExp(`^${name}=(\\S+)$`, "m").exec(privateLabEnv());
        assert.ok(match, name);
        return match[1] as string;
      };
      const hostIf = value("LAB_HOST_IF");
      assert.equal(hostIf, "swyt-h0");
      assert.notEqual(hostIf, lab("LAB_HOST_IF"));
      try {
        // A run interrupted earlier may have left the private lab: start from nothing.
        await must("down");
        const before = await labSh("status");
        assert.equal(before.code, 1, before.stdout);
        await must("up");
        await must("up");
        const status = await must("status");
        assert.match(
          status.stdout,
          new RegExp(`${value("LAB_NS_CLIENT1")}: eth0=${value("LAB_CLIENT1_IP")}/24`),
        );
        assert.match(status.stdout, new RegExp(`host: ${hostIf}=${value("LAB_HOST_IP")}/24`));
        assert.match(value("LAB_CLIENT1_IP"), /^198\.19\./);
        // A client reaches both DNS nodes through the router.
        for (const ip of [value("LAB_DNS1_IP"), value("LAB_DNS2_IP")]) {
          await run(["ip", "netns", "exec", value("LAB_NS_CLIENT2"), "ping", "-c1", "-W2", ip]);
        }
      } finally {
        await labSh("down");
      }
      try {
        await must("down");
        const namespaces = (await run(["ip", "netns", "list"])).stdout;
        assert.equal(/\bswyt-/.test(namespaces), false, namespaces);
        const host = await run(["ip", "link", "show", hostIf], { allowFail: true });
        assert.notEqual(host.code, 0);
        assert.equal((await labSh("status")).code, 1);
      } finally {
        await state.stop();
      }
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
        assert.match(text, /advert_int 1\b/);
        assert.match(text, /vrrp_version 2/);
        assert.match(text, /auth_type PASS/);
        assert.match(text, new RegExp(`${lab("LAB_VIP")}/24 dev eth0`));
        assert.match(text, /check_coredns\.sh http:\/\/127\.0\.0\.1:18053\/health/);
        assert.match(text, /weight 0/);
        assert.equal(text.includes("@"), false, "unrendered placeholder");
        await run(["keepalived", "-t", "-f", out]);
      }
      // a sub-second advert interval (the game day's lab) renders VRRPv3, which has no auth
      const fast = `${dir.path}/fast.conf`;
      await script(
        "deploy/keepalived/keepalived.sh",
        ...["config", "--node", "test-fast", "--role", "backup", "--advert-int", "0.5"],
        ...["--out", fast],
      );
      const fastText = await Deno.readTextFile(fast);
      assert.match(fastText, /vrrp_version 3/);
      assert.match(fastText, /advert_int 0\.5\b/);
      assert.doesNotMatch(fastText, /authentication|auth_type/);
      assert.match(fastText, /track_script/);
      await run(["keepalived", "-t", "-f", fast]);
      for (
        const bad of [
          ["--role", "master", "--advert-int", "1.5"],
          ["--role", "master", "--advert-int", "0.01"],
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
