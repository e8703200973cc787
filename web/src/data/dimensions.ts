// Dimensions as member trees, built from ListMembers (parents per member, member order).

import type { DimensionTree, TreeMember } from "../grid/header-tree";

export interface LoadedDimension extends DimensionTree {
  readonly type: string;
  readonly byCode: ReadonlyMap<string, number>;
  readonly memberInfo: ReadonlyMap<number, MemberInfo>;
}

export interface MemberInfo {
  readonly code: string;
  readonly name: string;
  readonly leaf: boolean;
  /**
   * The member's sign in its dimension's first hierarchy: the product of the signs of the
   * weights on its path to a root through first parents. -1 for a cost account under a total
   * that subtracts it (COGS into Gross margin), so a variance on it is favourable when
   * negative; +1 for members of unweighted dimensions.
   */
  readonly sign: 1 | -1;
}

/**
 * Builds a tree from members in member order. Children are listed in the order the members
 * come; a member with no parent is a root. A parent code the list lacks is reported, since the
 * tree would silently lose members otherwise.
 */
export interface MemberRow {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  readonly leaf: boolean;
  readonly parents: readonly { readonly parent: string; readonly weight?: number }[];
}

export function buildDimension(name: string, type: string, members: readonly MemberRow[]): LoadedDimension {
  const byCode = new Map<string, number>();
  for (const m of members) byCode.set(m.code, m.id);
  const children = new Map<number, number[]>();
  const roots: number[] = [];
  for (const m of members) {
    if (m.parents.length === 0) roots.push(m.id);
    for (const p of m.parents) {
      const parentId = byCode.get(p.parent);
      if (parentId === undefined) throw new Error(`dimension ${name}: member ${m.code} names unknown parent ${p.parent}`);
      let list = children.get(parentId);
      if (!list) children.set(parentId, (list = []));
      list.push(m.id);
    }
  }
  const treeMembers = new Map<number, TreeMember>();
  const memberInfo = new Map<number, MemberInfo>();
  const signs = memberSigns(members, byCode);
  for (const m of members) {
    treeMembers.set(m.id, { id: m.id, code: m.code, name: m.name, children: children.get(m.id) ?? [] });
    memberInfo.set(m.id, { code: m.code, name: m.name, leaf: m.leaf, sign: signs.get(m.id) ?? 1 });
  }
  return { name, type, members: treeMembers, roots, byCode, memberInfo };
}

/** MemberInfo.sign of every member (parents are known to exist: buildDimension checked). */
function memberSigns(members: readonly MemberRow[], byCode: ReadonlyMap<string, number>): Map<number, 1 | -1> {
  const byId = new Map<number, MemberRow>();
  for (const m of members) byId.set(m.id, m);
  const signs = new Map<number, 1 | -1>();
  for (const m of members) {
    // Walk up through first parents to a member whose sign is known (or a root), then fill the
    // path in. `path` also guards against a cycle in bad input: a member seen twice stops it.
    const path: MemberRow[] = [];
    const onPath = new Set<number>();
    let at: MemberRow | undefined = m;
    let sign: 1 | -1 = 1;
    while (at && !signs.has(at.id) && !onPath.has(at.id)) {
      path.push(at);
      onPath.add(at.id);
      const first: { parent: string; weight?: number } | undefined = at.parents[0];
      at = first ? byId.get(byCode.get(first.parent) ?? -1) : undefined;
    }
    if (at && signs.has(at.id)) sign = signs.get(at.id)!;
    for (let i = path.length - 1; i >= 0; --i) {
      const weight = path[i].parents[0]?.weight ?? 1;
      if (weight < 0) sign = sign === 1 ? -1 : 1;
      signs.set(path[i].id, sign);
    }
  }
  return signs;
}

/** Members whose code or name contains `query` (case-insensitive), at most `limit`. */
export function searchMembers(dim: LoadedDimension, query: string, limit = 50): TreeMember[] {
  const q = query.trim().toLowerCase();
  const out: TreeMember[] = [];
  for (const m of dim.members.values()) {
    if (q === "" || m.code.toLowerCase().includes(q) || m.name.toLowerCase().includes(q)) {
      out.push(m);
      if (out.length >= limit) break;
    }
  }
  return out;
}
