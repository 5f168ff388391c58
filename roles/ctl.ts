/**
 * `deno task ctl <command> ...` (or `bun run roles ctl ...`): the command
 * line over the admin API, plus `zk-init`, which talks to ZooKeeper directly
 * to create the tree with per-role ACLs.
 *
 * @module
 */
import fs from "node:fs";
import path from "node:path";
import { type diffJson, formatDiff } from "../lib/admin/diff.ts";
import {
  formatRouteAnswer,
  parseHeaderLines,
  type RouteAnswer,
} from "../lib/routing/which_route.ts";
import { bootstrapTree } from "../lib/admin/bootstrap.ts";
import { MAX_BODY_BYTES, MAX_CONFIG_BYTES } from "../lib/admin/limits.ts";
import {
  FlagError,
  type FlagSpec,
  type FlagValues,
  formatFlags,
  parseFlags,
} from "../lib/cli/flags.ts";
import type { RoleDefinition } from "../lib/cli/role.ts";
import { zkConnectOptions } from "../lib/cli/zk.ts";
import { args, env, exit, writeErr, writeOut } from "../lib/runtime/process.ts";
import { REPO_ROOT } from "../lib/runtime/role_command.ts";
import { connectStore } from "../lib/store/mod.ts";
import { BACKUP_FLAGS, BACKUP_USAGE, BackupError, runBackup } from "./ctl_backup.ts";

const SUMMARY = "command-line client of the admin API (and `zk-init` for ZooKeeper ACLs)";

/** Flags every command takes (plus per-command ones, listed in the usage). */
export const CTL_FLAGS: readonly FlagSpec[] = [
  {
    name: "api",
    type: "string",
    value: "URL",
    help: "admin API (or env SWITCHYARD_ADMIN_URL)",
    default: "http://127.0.0.1:9300",
  },
  {
    name: "token",
    type: "string",
    value: "TOKEN",
    help: "bearer token (or env SWITCHYARD_ADMIN_TOKEN)",
  },
  { name: "token-file", type: "string", value: "FILE", help: "file with the bearer token" },
  {
    name: "version",
    type: "number",
    value: "N",
    help: "write only if the config is at this version",
  },
  { name: "weight", type: "number", value: "N", help: "add-backend: the backend's weight" },
  { name: "endpoint", type: "string", value: "PATH", help: "set-health: health_endpoint" },
  { name: "code", type: "number", value: "N", help: "set-health: health_endpoint_expected_code" },
  {
    name: "interval",
    type: "number",
    value: "SECONDS",
    help: "set-health: health_check_frequency_seconds",
  },
  {
    name: "timeout",
    type: "number",
    value: "SECONDS",
    help: "set-health: health_check_timeout_seconds",
  },
  { name: "healthy", type: "number", value: "N", help: "set-health: healthy_threshold" },
  { name: "unhealthy", type: "number", value: "N", help: "set-health: unhealthy_threshold" },
  { name: "type", type: "string", value: "http|tcp", help: "set-health: health_check_type" },
  { name: "json", type: "boolean", help: "print raw JSON answers", default: false },
  { name: "listener", type: "string", value: "NAME", help: "route-test: the listener" },
  {
    name: "method",
    type: "string",
    value: "METHOD",
    help: "route-test: the method",
    default: "GET",
  },
  { name: "url", type: "string", value: "URL", help: "route-test: the request's absolute URL" },
  {
    name: "header",
    type: "string",
    value: "'NAME: VALUE'",
    help: "route-test: a request header (repeat for more)",
  },
  {
    name: "cert",
    type: "string",
    value: "FILE",
    help: "cert put: the PEM certificate chain (leaf first)",
  },
  { name: "key", type: "string", value: "FILE", help: "cert put: the PEM private key" },
  { name: "zk", type: "string", value: "HOSTS", help: "zk-init: ZooKeeper ensemble" },
  {
    name: "zk-auth",
    type: "string",
    value: "USER:PASSWORD",
    help: "zk-init: the operator identity",
  },
  { name: "zk-auth-file", type: "string", value: "FILE", help: "zk-init: file with USER:PASSWORD" },
  { name: "zk-session-timeout", type: "number", value: "SECONDS", help: "zk-init", default: 10 },
  { name: "admin-user", type: "string", value: "USER:PASSWORD", help: "zk-init: the admin role" },
  {
    name: "orchestrator-user",
    type: "string",
    value: "USER:PASSWORD",
    help: "zk-init: the orchestrator",
  },
  { name: "proxy-user", type: "string", value: "USER:PASSWORD", help: "zk-init: the proxies" },
  { name: "dns-user", type: "string", value: "USER:PASSWORD", help: "zk-init: the dns role" },
  {
    name: "autoscaler-user",
    type: "string",
    value: "USER:PASSWORD",
    help: "zk-init: the autoscaler",
  },
  ...BACKUP_FLAGS,
];

const COMMANDS = `commands:
  groups                               list groups and versions
  get GROUP                            print a group's config and version (exit status 1 when the
                                       stored data is invalid: the reason and the rollback to run)
  create GROUP FILE|-                  create a group from a JSON file (or stdin)
  set GROUP FILE|- [--version N]       replace a config (without --version: the version read now)
  delete GROUP [--version N]           delete a group (its history is kept)
  add-backend GROUP HOST:PORT [--weight N]
  remove-backend GROUP HOST:PORT
  weight GROUP HOST:PORT N             re-weight one backend
  drain GROUP HOST:PORT                stop sending new requests to a backend (in-flight finish)
  undrain GROUP HOST:PORT              send it traffic again
  set-algorithm GROUP NAME             e.g. LEAST_CONNECTIONS
  set-health GROUP [--endpoint P] [--code N] [--interval S] [--timeout S] [--healthy N]
                   [--unhealthy N] [--type http|tcp]
  history GROUP                        versions, who wrote them and how
  diff GROUP FROM [TO]                 differences between two versions (TO defaults to current)
  rollback GROUP VERSION               write an old version back as the newest
  listeners                            list listeners and versions
  listener get LISTENER                print a listener's route config and version (exit status 1
                                       when the stored data is invalid)
  listener put LISTENER FILE|- [--version N]
                                       create or replace a listener's routes (without --version:
                                       the version read now)
  listener delete LISTENER [--version N]
  listener history LISTENER            versions, who wrote them and how
  listener diff LISTENER FROM [TO]     differences between two versions
  listener rollback LISTENER VERSION   write an old version back as the newest
  route-test --listener L --url URL [--method M] [--header 'NAME: VALUE' ...]
                                       which route, group and backends a request would get
  certs                                list TLS certificates: names, expiry, days left
  cert put NAME --cert FILE --key FILE [--version N]
                                       store a certificate chain and its key in ZooKeeper
                                       (checked first; without --version: the version read now)
  cert show NAME                       a certificate's names, expiry, fingerprint and chain (never
                                       the key)
  cert delete NAME [--version N]
  zk-init --zk HOSTS --zk-auth OPS:PW --admin-user U:P --orchestrator-user U:P --proxy-user U:P
          [--dns-user U:P] [--autoscaler-user U:P]
                                       create the ZooKeeper tree with per-role ACLs
${BACKUP_USAGE}`;

class CtlError extends Error {}

function usage(message?: string): never {
  const text = `${
    message ? `ctl: ${message}\n\n` : ""
  }usage: ctl <command> [args] [flags]\n${COMMANDS}\n\nflags:\n${formatFlags(CTL_FLAGS)}`;
  if (message) writeErr(text);
  else writeOut(text);
  exit(message ? 2 : 0);
}

function token(flags: FlagValues): string {
  if (typeof flags.token === "string") return flags.token;
  const file = typeof flags["token-file"] === "string" ? flags["token-file"] : undefined;
  if (file) return fs.readFileSync(file, "utf8").trim();
  const fromEnv = env("SWITCHYARD_ADMIN_TOKEN");
  if (fromEnv) return fromEnv.includes(":") ? fromEnv.slice(fromEnv.indexOf(":") + 1) : fromEnv;
  const generated = path.join(
    env("SWITCHYARD_STATE_DIR") ?? path.join(REPO_ROOT, ".state"),
    "admin-token",
  );
  try {
    return fs.readFileSync(generated, "utf8").trim();
  } catch {
    throw new CtlError("no token: use --token, --token-file or SWITCHYARD_ADMIN_TOKEN");
  }
}

async function call(
  flags: FlagValues,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const base = String(env("SWITCHYARD_ADMIN_URL") ?? flags.api).replace(/\/$/, "");
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const size = payload === undefined ? 0 : new TextEncoder().encode(payload).length;
  if (size > MAX_BODY_BYTES) {
    // refused here: the API would answer 413 without reading it, and a client still sending
    // may see the connection closed instead of that answer
    throw new CtlError(
      `the request is ${size} bytes, over the admin API's limit of ${MAX_BODY_BYTES} bytes ` +
        `(1 MiB); a config is at most ${MAX_CONFIG_BYTES} bytes (256 KiB) as stored`,
    );
  }
  let res: Response;
  try {
    res = await fetch(`${base}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token(flags)}`,
        "content-type": "application/json",
        ...headers,
      },
      body: payload,
    });
  } catch (e) {
    throw new CtlError(`cannot reach the admin API at ${base}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { error: text };
  }
  if (!res.ok) {
    let msg = `${res.status}: ${json.error ?? res.statusText}`;
    if (res.status === 409 && json.current_version !== undefined && json.invalid === undefined) {
      msg += ` (current version is ${json.current_version}; read it again and retry)`;
    }
    if (Array.isArray(json.issues)) {
      msg += "\n" + (json.issues as { field?: string; reason?: string }[])
        .map((i) => `  ${i.field || "(config)"}: ${i.reason}`).join("\n");
    }
    throw new CtlError(msg);
  }
  return json;
}

function readConfig(file: string): unknown {
  const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CtlError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}

function versionHeader(flags: FlagValues): Record<string, string> {
  return typeof flags.version === "number" ? { "if-match": `"${flags.version}"` } : {};
}

function show(flags: FlagValues, value: Record<string, unknown>, summary: string): void {
  writeOut(flags.json ? JSON.stringify(value, null, 2) : summary);
}

/** A collection of configs on the API: `groups` or `listeners`. */
interface Collection {
  /** `groups`, `listeners`: the API path. */
  readonly plural: string;
}

const GROUPS: Collection = { plural: "groups" };
const LISTENERS: Collection = { plural: "listeners" };

/** `get`: the config and version; exit status 1 (the raw text and the hint) when invalid. */
async function getConfig(flags: FlagValues, col: Collection, name: string): Promise<void> {
  const r = await call(flags, "GET", `/api/${col.plural}/${encodeURIComponent(name)}`);
  const invalid = r.invalid as { reason?: string; raw?: string; hint?: string } | undefined;
  if (r.valid === false && invalid) {
    // the stored text as it is (what the proxies rejected), then the error: exit status 1
    show(flags, r, `# ${name} version ${r.version} (INVALID, stored as written)\n${invalid.raw}`);
    throw new CtlError(
      `the stored config of ${name} (version ${r.version}) is invalid: ${invalid.reason}\n` +
        `ctl: ${invalid.hint}`,
    );
  }
  show(flags, r, `# ${name} version ${r.version}\n${JSON.stringify(r.config, null, 2)}`);
}

/** `set` / `listener put`: replace at --version (or the version read now); create when absent. */
async function putConfig(
  flags: FlagValues,
  col: Collection,
  name: string,
  file: string,
): Promise<Record<string, unknown>> {
  const config = readConfig(file);
  const at = `/api/${col.plural}/${encodeURIComponent(name)}`;
  let headers = versionHeader(flags);
  if (!headers["if-match"]) {
    const cur = await call(flags, "GET", at).catch(() => null);
    if (cur) headers = { "if-match": `"${cur.version}"` };
  }
  return await call(flags, "PUT", at, config, headers);
}

async function deleteConfig(flags: FlagValues, col: Collection, name: string): Promise<void> {
  const at = `/api/${col.plural}/${encodeURIComponent(name)}`;
  let headers = versionHeader(flags);
  if (!headers["if-match"]) {
    const cur = await call(flags, "GET", at);
    headers = { "if-match": `"${cur.version}"` };
  }
  await call(flags, "DELETE", at, undefined, headers);
  writeOut(`deleted ${name}`);
}

async function history(flags: FlagValues, col: Collection, name: string): Promise<void> {
  const r = await call(flags, "GET", `/api/${col.plural}/${encodeURIComponent(name)}/history`);
  const h = r.history as { version: number; action: string; by: string; at: string }[];
  show(
    flags,
    r,
    h.length
      ? h.map((e) => `version ${e.version}\t${e.at}\t${e.by}\t${e.action}`).join("\n")
      : "(no history)",
  );
}

async function diff(
  flags: FlagValues,
  col: Collection,
  name: string,
  from: string,
  to: string | undefined,
): Promise<void> {
  const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to ?? "current")}`;
  const r = await call(flags, "GET", `/api/${col.plural}/${encodeURIComponent(name)}/diff?${q}`);
  show(
    flags,
    r,
    `${name}: version ${r.from} -> ${r.to}\n${
      formatDiff(r.changes as ReturnType<typeof diffJson>)
    }`,
  );
}

async function rollback(
  flags: FlagValues,
  col: Collection,
  name: string,
  version: string,
): Promise<void> {
  const v = Number(version);
  if (!Number.isInteger(v)) usage("VERSION must be an integer");
  const body: Record<string, unknown> = { version: v };
  if (typeof flags.version === "number") body.expected_version = flags.version;
  const r = await call(
    flags,
    "POST",
    `/api/${col.plural}/${encodeURIComponent(name)}/rollback`,
    body,
  );
  show(flags, r, `${name} rolled back to the config of version ${v} (now version ${r.version})`);
}

/** One line of `ctl certs`: name, version, expiry and days left, names (or why it is invalid). */
function certificateLine(c: Record<string, unknown>): string {
  if (c.valid === false) {
    const invalid = c.invalid as { field?: string; reason?: string } | undefined;
    return `${c.name}\tversion ${c.version}\tINVALID: ${
      invalid?.field ? `${invalid.field}: ` : ""
    }${invalid?.reason}`;
  }
  return `${c.name}\tversion ${c.version}\texpires ${c.not_after} (${c.days_left} days left)\t${
    (c.names as string[]).join(",")
  }`;
}

/** `cert put|show|delete NAME`: the certificate commands. */
async function certificate(flags: FlagValues, sub: string | undefined, name: string | undefined) {
  const subs = ["put", "show", "delete"];
  if (sub === undefined || !subs.includes(sub)) usage(`cert needs one of ${subs.join(", ")}`);
  if (name === undefined) usage(`cert ${sub} needs NAME`);
  const at = `/api/certs/${encodeURIComponent(name)}`;
  if (sub === "show") {
    const r = await call(flags, "GET", at);
    show(
      flags,
      r,
      `# ${certificateLine(r)}\n# subject ${r.subject}, issuer ${r.issuer}\n` +
        `# fingerprint (SHA-256) ${r.fingerprint256}\n${r.cert ?? ""}`,
    );
    if (r.valid === false) throw new CtlError(`certificate ${name} is invalid`);
    return;
  }
  if (sub === "delete") {
    await deleteConfig(flags, { plural: "certs" }, name);
    return;
  }
  if (typeof flags.cert !== "string" || typeof flags.key !== "string") {
    usage("cert put needs --cert FILE and --key FILE");
  }
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new CtlError(`${file}: ${(e as NodeJS.ErrnoException).code ?? "cannot read it"}`);
    }
  };
  const body = { cert: read(flags.cert), key: read(flags.key) };
  let headers = versionHeader(flags);
  if (!headers["if-match"]) {
    const cur = await call(flags, "GET", at).catch(() => null);
    if (cur) headers = { "if-match": `"${cur.version}"` };
  }
  const r = await call(flags, "PUT", at, body, headers);
  show(flags, r, `${name} is now version ${r.version}: ${certificateLine(r)}`);
}

/** `route-test`: which route, group and backends a request would get. */
async function routeTest(flags: FlagValues, headerLines: readonly string[]): Promise<void> {
  if (typeof flags.listener !== "string") usage("route-test needs --listener NAME");
  if (typeof flags.url !== "string") usage("route-test needs --url URL");
  const parsed = parseHeaderLines(headerLines);
  if ("error" in parsed) usage(`--header: ${parsed.error}`);
  const headers = parsed.headers;
  const r = await call(
    flags,
    "POST",
    `/api/listeners/${encodeURIComponent(flags.listener)}/route-test`,
    { method: String(flags.method), url: flags.url, headers },
  );
  show(
    flags,
    r,
    `listener ${r.listener} version ${r.version}\n${
      formatRouteAnswer(r as unknown as RouteAnswer)
    }`,
  );
}

async function run(argv: readonly string[]): Promise<void> {
  const positional: string[] = [];
  const rest: string[] = [];
  // --header repeats: every value is kept (the flag parser keeps the last)
  const headerLines: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--header" && i + 1 < argv.length) {
      headerLines.push(argv[++i]!);
      continue;
    }
    if (a.startsWith("--header=")) {
      headerLines.push(a.slice("--header=".length));
      continue;
    }
    if (a.startsWith("--")) {
      rest.push(a);
      const spec = CTL_FLAGS.find((s) => `--${s.name}` === a);
      if (spec && spec.type !== "boolean" && i + 1 < argv.length) rest.push(argv[++i]!);
    } else positional.push(a);
  }
  let flags: FlagValues;
  try {
    flags = parseFlags(rest, CTL_FLAGS);
  } catch (e) {
    usage((e as Error).message);
  }
  if (flags.help || positional.length === 0) {
    usage(positional.length === 0 && !flags.help ? "no command" : undefined);
  }
  const [command, ...a] = positional as [string, ...string[]];
  const need = (n: number, what: string) => {
    if (a.length < n) usage(`${command} needs ${what}`);
  };
  const g = () => encodeURIComponent(a[0]!);
  switch (command) {
    case "groups": {
      const r = await call(flags, "GET", "/api/groups");
      const groups = r.groups as { group: string; version: number }[];
      show(
        flags,
        r,
        groups.length
          ? groups.map((x) => `${x.group}\tversion ${x.version}`).join("\n")
          : "(no groups)",
      );
      return;
    }
    case "get": {
      need(1, "GROUP");
      await getConfig(flags, GROUPS, a[0]!);
      return;
    }
    case "create": {
      need(2, "GROUP FILE|-");
      const r = await call(flags, "POST", "/api/groups", {
        group: a[0],
        config: readConfig(a[1]!),
      });
      show(flags, r, `created ${a[0]} (version ${r.version})`);
      return;
    }
    case "set": {
      need(2, "GROUP FILE|-");
      const r = await putConfig(flags, GROUPS, a[0]!, a[1]!);
      show(flags, r, `${a[0]} is now version ${r.version}`);
      return;
    }
    case "delete": {
      need(1, "GROUP");
      await deleteConfig(flags, GROUPS, a[0]!);
      return;
    }
    case "add-backend": {
      need(2, "GROUP HOST:PORT");
      const body = typeof flags.weight === "number"
        ? { address: a[1], weight: flags.weight }
        : { address: a[1] };
      const r = await call(
        flags,
        "POST",
        `/api/groups/${g()}/backends`,
        body,
        versionHeader(flags),
      );
      show(flags, r, `added ${a[1]} to ${a[0]} (version ${r.version})`);
      return;
    }
    case "remove-backend": {
      need(2, "GROUP HOST:PORT");
      const r = await call(
        flags,
        "DELETE",
        `/api/groups/${g()}/backends/${encodeURIComponent(a[1]!)}`,
        undefined,
        versionHeader(flags),
      );
      show(flags, r, `removed ${a[1]} from ${a[0]} (version ${r.version})`);
      return;
    }
    case "weight": {
      need(3, "GROUP HOST:PORT WEIGHT");
      const w = Number(a[2]);
      if (!Number.isFinite(w)) usage("WEIGHT must be a number");
      const r = await call(
        flags,
        "PATCH",
        `/api/groups/${g()}/backends/${encodeURIComponent(a[1]!)}`,
        { weight: w },
        versionHeader(flags),
      );
      show(flags, r, `${a[1]} in ${a[0]} now has weight ${w} (version ${r.version})`);
      return;
    }
    case "drain":
    case "undrain": {
      need(2, "GROUP HOST:PORT");
      const r = await call(
        flags,
        "PATCH",
        `/api/groups/${g()}/backends/${encodeURIComponent(a[1]!)}`,
        { drain: command === "drain" },
        versionHeader(flags),
      );
      show(
        flags,
        r,
        `${a[1]} in ${a[0]} ${
          command === "drain" ? "drains" : "takes traffic again"
        } (version ${r.version})`,
      );
      return;
    }
    case "set-algorithm": {
      need(2, "GROUP ALGORITHM");
      const r = await call(
        flags,
        "PATCH",
        `/api/groups/${g()}`,
        { algorithm: a[1] },
        versionHeader(flags),
      );
      show(flags, r, `${a[0]} now uses ${a[1]} (version ${r.version})`);
      return;
    }
    case "set-health": {
      need(1, "GROUP");
      const patch: Record<string, unknown> = {};
      if (flags.endpoint !== undefined) patch.health_endpoint = flags.endpoint;
      if (flags.code !== undefined) patch.health_endpoint_expected_code = flags.code;
      if (flags.interval !== undefined) patch.health_check_frequency_seconds = flags.interval;
      if (flags.timeout !== undefined) patch.health_check_timeout_seconds = flags.timeout;
      if (flags.healthy !== undefined) patch.healthy_threshold = flags.healthy;
      if (flags.unhealthy !== undefined) patch.unhealthy_threshold = flags.unhealthy;
      if (flags.type !== undefined) patch.health_check_type = flags.type;
      if (Object.keys(patch).length === 0) usage("set-health needs at least one of its flags");
      const r = await call(flags, "PATCH", `/api/groups/${g()}`, patch, versionHeader(flags));
      show(flags, r, `${a[0]} health settings updated (version ${r.version})`);
      return;
    }
    case "history": {
      need(1, "GROUP");
      await history(flags, GROUPS, a[0]!);
      return;
    }
    case "diff": {
      need(2, "GROUP FROM [TO]");
      await diff(flags, GROUPS, a[0]!, a[1]!, a[2]);
      return;
    }
    case "rollback": {
      need(2, "GROUP VERSION");
      await rollback(flags, GROUPS, a[0]!, a[1]!);
      return;
    }
    case "listeners": {
      const r = await call(flags, "GET", "/api/listeners");
      const list = r.listeners as { listener: string; version: number }[];
      show(
        flags,
        r,
        list.length
          ? list.map((x) => `${x.listener}\tversion ${x.version}`).join("\n")
          : "(no listeners)",
      );
      return;
    }
    case "listener": {
      const [sub, name, ...more] = a;
      const needs: Record<string, string> = {
        get: "LISTENER",
        put: "LISTENER FILE|-",
        delete: "LISTENER",
        history: "LISTENER",
        diff: "LISTENER FROM [TO]",
        rollback: "LISTENER VERSION",
      };
      if (sub === undefined || needs[sub] === undefined) {
        usage(`listener needs one of ${Object.keys(needs).join(", ")}`);
      }
      const wanted = needs[sub]!.split(" ").filter((w) => !w.startsWith("[")).length;
      if (a.length - 1 < wanted) usage(`listener ${sub} needs ${needs[sub]}`);
      if (sub === "get") await getConfig(flags, LISTENERS, name!);
      else if (sub === "put") {
        const r = await putConfig(flags, LISTENERS, name!, more[0]!);
        show(flags, r, `${name} is now version ${r.version}`);
      } else if (sub === "delete") await deleteConfig(flags, LISTENERS, name!);
      else if (sub === "history") await history(flags, LISTENERS, name!);
      else if (sub === "diff") await diff(flags, LISTENERS, name!, more[0]!, more[1]);
      else await rollback(flags, LISTENERS, name!, more[0]!);
      return;
    }
    case "route-test":
      await routeTest(flags, headerLines);
      return;
    case "certs": {
      const r = await call(flags, "GET", "/api/certs");
      const list = r.certs as Record<string, unknown>[];
      show(flags, r, list.length ? list.map(certificateLine).join("\n") : "(no certificates)");
      return;
    }
    case "cert":
      await certificate(flags, a[0], a[1]);
      return;
    case "zk-init": {
      const creds = {
        admin: flags["admin-user"],
        orchestrator: flags["orchestrator-user"],
        proxy: flags["proxy-user"],
      };
      for (const [k, v] of Object.entries(creds)) {
        if (typeof v !== "string" || !v.includes(":")) {
          usage(`zk-init needs --${k}-user USER:PASSWORD`);
        }
      }
      let options;
      try {
        options = zkConnectOptions(flags, env);
      } catch (e) {
        usage((e as Error).message);
      }
      if (!options.digest) usage("zk-init needs the operator identity: --zk-auth USER:PASSWORD");
      const store = await connectStore(options);
      try {
        const lines = await bootstrapTree(store, {
          operator: String(options.digest),
          admin: String(creds.admin),
          orchestrator: String(creds.orchestrator),
          proxy: String(creds.proxy),
          ...(typeof flags["dns-user"] === "string" ? { dns: flags["dns-user"] } : {}),
          ...(typeof flags["autoscaler-user"] === "string"
            ? { autoscaler: flags["autoscaler-user"] }
            : {}),
        });
        writeOut(lines.join("\n"));
      } finally {
        await store.close();
      }
      return;
    }
    case "export":
    case "import":
      return await runBackup(command, a, flags);
    default:
      usage(`unknown command "${command}"`);
  }
}

/** Runs the CLI. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await run(argv);
  } catch (e) {
    if (e instanceof CtlError || e instanceof FlagError || e instanceof BackupError) {
      writeErr(`ctl: ${e.message}`);
      exit(1);
    }
    writeErr(`ctl: ${(e as Error).message}`);
    exit(1);
  }
}

/** The CLI's definition for the roles dispatcher. */
export const role: RoleDefinition = { name: "ctl", summary: SUMMARY, flags: CTL_FLAGS, main };

if (import.meta.main) await main(args());
