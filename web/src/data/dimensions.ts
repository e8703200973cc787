// Dimensions as member trees, built from ListMembers (parents per member, member order).

import type { DimensionTree, TreeMember } from "../grid/header-tree";

export interface LoadedDimension extends DimensionTree {
  readonly type: string;
  readonly byCode: ReadonlyMap<string, number>;
  readonly memberInfo: ReadonlyMap<number, { readonly code: string; readonly name: string; readonly leaf: boolean }>;
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
  readonly parents: readonly { readonly parent: string }[];
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
  const memberInfo = new Map<number, { code: string; name: string; leaf: boolean }>();
  for (const m of members) {
    treeMembers.set(m.id, { id: m.id, code: m.code, name: m.name, children: children.get(m.id) ?? [] });
    memberInfo.set(m.id, { code: m.code, name: m.name, leaf: m.leaf });
  }
  return { name, type, members: treeMembers, roots, byCode, memberInfo };
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
