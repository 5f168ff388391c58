import assert from "node:assert/strict";
import { mulberry32 } from "../balancer/hash.ts";
import {
  candidatePrefix,
  decide,
  findOwnCandidate,
  leaderOf,
  parseCandidate,
  sortCandidates,
} from "./election_core.ts";

const node = (guid: string, seq: number) => candidatePrefix(guid) + String(seq).padStart(10, "0");

Deno.test("parseCandidate() reads guid and sequence, and refuses other names", () => {
  assert.deepEqual(parseCandidate(node("9f-1a", 12)), {
    name: "c_9f-1a-n_0000000012",
    guid: "9f-1a",
    seq: 12,
  });
  assert.equal(parseCandidate("lock-0000000001"), undefined);
  assert.equal(parseCandidate("c_x-n_12"), undefined);
  assert.equal(parseCandidate("c_-n_0000000001"), undefined);
});

Deno.test("sortCandidates() orders by sequence, not by name, and skips foreign nodes", () => {
  const kids = [node("zzz", 1), node("aaa", 3), "junk", node("mmm", 2)];
  assert.deepEqual(sortCandidates(kids).map((c) => c.guid), ["zzz", "mmm", "aaa"]);
  assert.equal(leaderOf(kids), node("zzz", 1));
  assert.equal(leaderOf([]), undefined);
});

Deno.test("decide(): the lowest leads, every other watches only its predecessor", () => {
  const kids = [node("a", 5), node("b", 9), node("c", 7)];
  assert.deepEqual(decide(kids, node("a", 5)), { kind: "leader" });
  assert.deepEqual(decide(kids, node("c", 7)), {
    kind: "follower",
    predecessor: node("a", 5),
    leader: node("a", 5),
  });
  assert.deepEqual(decide(kids, node("b", 9)), {
    kind: "follower",
    predecessor: node("c", 7),
    leader: node("a", 5),
  });
  assert.deepEqual(decide(kids, node("d", 11)), { kind: "absent" });
});

Deno.test("property: predecessors form one chain (no herd: each node is watched by at most one)", () => {
  const random = mulberry32(3);
  for (let round = 0; round < 200; round++) {
    const n = 1 + Math.floor(random() * 12);
    const seqs = new Set<number>();
    while (seqs.size < n) seqs.add(Math.floor(random() * 1e6));
    const kids = [...seqs].map((s, i) => node(`g${round}x${i}`, s));
    const watched = new Map<string, number>();
    let leaders = 0;
    for (const k of kids) {
      const d = decide(kids, k);
      if (d.kind === "leader") leaders++;
      else if (d.kind === "follower") {
        watched.set(d.predecessor, (watched.get(d.predecessor) ?? 0) + 1);
        assert.ok(parseCandidate(d.predecessor)!.seq < parseCandidate(k)!.seq);
      } else assert.fail("own node is present");
    }
    assert.equal(leaders, 1);
    for (const count of watched.values()) assert.equal(count, 1);
    assert.equal(watched.size, n - 1);
  }
});

Deno.test("findOwnCandidate() recovers a node whose create reply was lost", () => {
  const kids = [node("other", 1), node("mine", 4)];
  assert.equal(findOwnCandidate(kids, "mine"), node("mine", 4));
  assert.equal(findOwnCandidate(kids, "never-created"), undefined);
  // A guid that is a prefix of another's does not match it.
  assert.equal(findOwnCandidate([node("mine-2", 2)], "mine"), undefined);
});
