/**
 * The decision logic of leader election by the ZooKeeper recipe, pure.
 *
 * Each candidate creates an ephemeral sequential node `c_<guid>-n_<seq>` under the election
 * path. The lowest sequence leads; every other candidate watches only the candidate just below
 * it (its predecessor), so a departure wakes one process, not all of them (no herd effect). The
 * `<guid>` makes the name "protected": when a create's reply is lost with the connection, the
 * candidate finds its node again by the guid instead of creating a second one.
 *
 * @module
 */

/** A parsed candidate node name. */
export interface Candidate {
  readonly name: string;
  readonly guid: string;
  /** The sequence ZooKeeper appended. */
  readonly seq: number;
}

const CANDIDATE = /^c_([A-Za-z0-9-]+)-n_(\d{10,})$/;

/**
 * The name prefix to create (ZooKeeper appends a 10-digit counter).
 *
 * @example
 * ```ts
 * import { candidatePrefix, parseCandidate } from "./election_core.ts";
 * const name = candidatePrefix("ab12") + "0000000007";
 * console.log(parseCandidate(name)); // { name, guid: "ab12", seq: 7 }
 * ```
 */
export function candidatePrefix(guid: string): string {
  return `c_${guid}-n_`;
}

/** Parses a child name; undefined for anything that is not a candidate node. */
export function parseCandidate(name: string): Candidate | undefined {
  const m = CANDIDATE.exec(name);
  if (m === null) return undefined;
  return { name, guid: m[1]!, seq: Number(m[2]) };
}

/** Candidates among the children, lowest sequence first (ties, impossible in ZK, by name). */
export function sortCandidates(children: readonly string[]): Candidate[] {
  const out: Candidate[] = [];
  for (const c of children) {
    const p = parseCandidate(c);
    if (p !== undefined) out.push(p);
  }
  return out.sort((a, b) => a.seq - b.seq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Protected-name recovery: the node this candidate created, found by its guid (after a lost
 * create reply). If several match (should not happen), the lowest one.
 *
 * @param children the election node's children
 * @param guid this candidate's guid
 * @returns the node name, or undefined if the create never happened
 */
export function findOwnCandidate(children: readonly string[], guid: string): string | undefined {
  return sortCandidates(children).find((c) => c.guid === guid)?.name;
}

/** What a candidate should do after looking at the children. */
export type ElectionDecision =
  /** Own node is the lowest: lead. */
  | { readonly kind: "leader" }
  /** Watch `predecessor` (the next lower node); `leader` is the current lowest. */
  | { readonly kind: "follower"; readonly predecessor: string; readonly leader: string }
  /** Own node is not there (session gone or deleted): create a new one. */
  | { readonly kind: "absent" };

/**
 * Decides from the children and this candidate's own node.
 *
 * @example
 * ```ts
 * import { decide } from "./election_core.ts";
 * const kids = ["c_a-n_0000000003", "c_b-n_0000000001", "c_c-n_0000000002"];
 * console.log(decide(kids, "c_a-n_0000000003"));
 * // { kind: "follower", predecessor: "c_c-n_0000000002", leader: "c_b-n_0000000001" }
 * ```
 */
export function decide(children: readonly string[], own: string): ElectionDecision {
  const sorted = sortCandidates(children);
  const i = sorted.findIndex((c) => c.name === own);
  if (i < 0) return { kind: "absent" };
  if (i === 0) return { kind: "leader" };
  return { kind: "follower", predecessor: sorted[i - 1]!.name, leader: sorted[0]!.name };
}

/** The leading candidate's node name, if any. */
export function leaderOf(children: readonly string[]): string | undefined {
  return sortCandidates(children)[0]?.name;
}
