// Nested member headers: which member tuples an axis shows, and how its headers span.
//
// An axis holds one or more dimensions. For each, the user picks root members; a root shows its
// children when expanded, recursively (depth-first, children in member order, so a parent
// comes before its children). The axis shows the cross join of the dimensions' visible members,
// the first dimension varying slowest, as the server's grid queries do. The position of tuple i
// is a mixed-radix number, so a 10,000-row axis needs no 10,000-entry array of tuples.

export interface TreeMember {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  /** Child member ids in member order; empty for a leaf. */
  readonly children: readonly number[];
}

/** A dimension's members, indexed by id. */
export interface DimensionTree {
  readonly name: string;
  readonly members: ReadonlyMap<number, TreeMember>;
  readonly roots: readonly number[];
}

export interface VisibleMember {
  readonly id: number;
  readonly depth: number;
  readonly hasChildren: boolean;
  readonly expanded: boolean;
}

/**
 * The members a dimension shows: each root, then (if expanded) its visible descendants.
 * `expanded` holds the ids of expanded members; expansion is per member, not per path.
 * Unknown ids are skipped. A member reached twice (several parents) is shown each time.
 */
export function visibleMembers(
  tree: DimensionTree,
  roots: readonly number[],
  expanded: ReadonlySet<number>,
): VisibleMember[] {
  const out: VisibleMember[] = [];
  const visit = (id: number, depth: number, path: Set<number>): void => {
    const member = tree.members.get(id);
    if (!member || path.has(id)) return;
    const hasChildren = member.children.length > 0;
    const isExpanded = hasChildren && expanded.has(id);
    out.push({ id, depth, hasChildren, expanded: isExpanded });
    if (!isExpanded) return;
    path.add(id);
    for (const child of member.children) visit(child, depth + 1, path);
    path.delete(id);
  };
  for (const root of roots) visit(root, 0, new Set());
  return out;
}

/**
 * The members to expand so an axis opens on a useful view without growing past `limit` members:
 * breadth first (shallower members first, in member order), a member is expanded when its
 * children still fit, else skipped. First only members with a consolidated child (the
 * structure: a chart of accounts' sections, a calendar's quarters), then those whose children
 * are all leaves (months, posting accounts), as far as they still fit. Nothing is expanded when
 * the roots alone fill the limit.
 */
export function expandToFit(tree: DimensionTree, roots: readonly number[], limit: number): Set<number> {
  const expanded = new Set<number>();
  const children = (id: number) => tree.members.get(id)?.children ?? [];
  const structural = (id: number) => children(id).some((c) => children(c).length > 0);
  let shown = visibleMembers(tree, roots, expanded).length;
  for (const pass of [true, false]) {
    // Breadth first over what is shown: a member's children join the queue once it opens.
    const queue = [...roots];
    const seen = new Set<number>();
    while (queue.length > 0) {
      const id = queue.shift() as number;
      if (seen.has(id)) continue;
      seen.add(id);
      const kids = children(id);
      if (kids.length === 0) continue;
      if (!expanded.has(id) && structural(id) === pass && shown + kids.length <= limit) {
        expanded.add(id);
        shown = visibleMembers(tree, roots, expanded).length;
      }
      if (expanded.has(id)) queue.push(...kids);
    }
  }
  return expanded;
}

/** One header cell of an axis at one level: the member and the run of tuples it spans. */
export interface HeaderCell {
  readonly level: number;
  readonly member: VisibleMember;
  /** First tuple index the cell covers. */
  readonly start: number;
  /** Number of tuples the cell covers. */
  readonly span: number;
}

/** The tuples of an axis and their header cells; immutable. */
export class AxisLayout {
  /** Number of tuples (rows or columns). */
  readonly count: number;
  private readonly strides: number[];

  /** `perDimension[k]` is the visible member list of the axis's k-th dimension. */
  constructor(readonly perDimension: readonly (readonly VisibleMember[])[]) {
    this.strides = new Array<number>(perDimension.length);
    let stride = 1;
    for (let k = perDimension.length - 1; k >= 0; k--) {
      this.strides[k] = stride;
      stride *= perDimension[k].length;
    }
    this.count = perDimension.length === 0 ? 0 : stride;
  }

  get levels(): number {
    return this.perDimension.length;
  }

  /** The visible member of dimension `level` in tuple `index`. */
  memberAt(level: number, index: number): VisibleMember {
    const list = this.perDimension[level];
    return list[Math.floor(index / this.strides[level]) % list.length];
  }

  /** The member ids of tuple `index`, one per dimension of the axis. */
  tupleAt(index: number): number[] {
    if (index < 0 || index >= this.count) throw new RangeError(`tuple ${index} of ${this.count}`);
    return this.perDimension.map((_, level) => this.memberAt(level, index).id);
  }

  /** The header cell of `level` that covers tuple `index`. */
  headerAt(level: number, index: number): HeaderCell {
    const stride = this.strides[level];
    const start = Math.floor(index / stride) * stride;
    return { level, member: this.memberAt(level, index), start, span: stride };
  }

  /** Header cells of `level` that overlap tuples [first, end), in order. */
  headersInRange(level: number, first: number, end: number): HeaderCell[] {
    const out: HeaderCell[] = [];
    let index = Math.max(0, first);
    const stop = Math.min(end, this.count);
    while (index < stop) {
      const cell = this.headerAt(level, index);
      out.push(cell);
      index = cell.start + cell.span;
    }
    return out;
  }

  /** The index of the first tuple whose ids equal `tuple`, or -1. */
  indexOf(tuple: readonly number[]): number {
    let index = 0;
    for (let level = 0; level < this.perDimension.length; level++) {
      const position = this.perDimension[level].findIndex((m) => m.id === tuple[level]);
      if (position < 0) return -1;
      index += position * this.strides[level];
    }
    return index;
  }
}

/** Toggles a member's expansion; returns a new set. */
export function toggleExpanded(expanded: ReadonlySet<number>, id: number): Set<number> {
  const next = new Set(expanded);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}
