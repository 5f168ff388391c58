/**
 * deploy/Containerfile, checked statically (no container tool can build on
 * the CI machine: docker has no daemon there and podman/buildah are absent):
 * its stages, that every role it names exists, that the files and the npm
 * script it uses are in the repository, and that the image runs the
 * executable `npm run build` produces.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { EXECUTABLE } from "../../deploy/executable.ts";
import { REPO_ROOT } from "../../lib/runtime/role_command.ts";
import { ROLE_NAMES } from "../../roles/registry.ts";

const FILE = path.join(REPO_ROOT, "deploy", "Containerfile");

Deno.test("the Containerfile builds with npm run build and runs dist/bin/switchyard's roles", () => {
  const text = fs.readFileSync(FILE, "utf8");
  const lines = text.split("\n");
  const instructions = lines.filter((l) => /^[A-Z]+ /.test(l));
  assert.equal(instructions.filter((l) => l.startsWith("FROM ")).length, 2, "two stages");

  // every `switchyard <role>` in the examples is a role of the executable
  const named = [...text.matchAll(/ run [^\n]* switchyard (\w+)/g)].map((m) => m[1]!);
  assert.ok(named.length >= 5, named.join(","));
  for (const role of named) assert.ok(ROLE_NAMES.includes(role), `unknown role ${role}`);
  for (const role of ["proxy", "orchestrator", "admin", "dns", "autoscaler", "ctl"]) {
    assert.ok(named.includes(role), `the examples show ${role}`);
  }

  // what it copies from the build context exists, and the build step is a real npm script
  for (const l of instructions.filter((l) => l.startsWith("COPY ") && !l.includes("--from"))) {
    const sources = l.split(/\s+/).slice(1, -1).filter((s) => s !== ".");
    for (const s of sources) assert.ok(fs.existsSync(path.join(REPO_ROOT, s)), `COPY ${s}`);
  }
  const scripts = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"))
    .scripts;
  assert.match(scripts.build, /deploy\/build\.ts/);
  assert.ok(instructions.includes("RUN npm run build"));

  // the runtime stage takes the executable the build writes and starts it
  const built = path.relative(REPO_ROOT, EXECUTABLE);
  assert.ok(
    instructions.includes(
      `COPY --from=build /src/${built} /usr/local/bin/switchyard`,
    ),
    `copies ${built}`,
  );
  assert.ok(instructions.includes('ENTRYPOINT ["/usr/local/bin/switchyard"]'));
  assert.ok(instructions.some((l) => l.startsWith("USER ") && !l.startsWith("USER 0")));
});
