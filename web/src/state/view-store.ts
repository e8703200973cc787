// Client state (Zustand): how the grid is pivoted and expanded, planning options, and the
// typed values on their way to the server. Server state (apps, members, cells, comments) lives
// in TanStack Query and the paged cells, never here.

import { create } from "zustand";
import { SpreadMethod } from "../gen/quantatom/v1/write_pb";

export type Zone = "rows" | "cols" | "pages";

export interface AxisDim {
  readonly dim: string;
  /** Member codes shown at the top of the axis (each expandable). */
  readonly roots: readonly string[];
}

/** A typed value not yet confirmed by the server: pending, or failed with the server's message. */
export interface Edit {
  readonly codes: readonly string[];
  readonly text: string;
  readonly status: "pending" | "failed";
  readonly message?: string;
  /** Layer the value was typed into (plan or target). */
  readonly layer: number;
}

export interface ViewState {
  app: string;
  rows: AxisDim[];
  cols: AxisDim[];
  /** Member per dimension on no axis. */
  pages: Record<string, string>;
  /** Expanded member codes per dimension. */
  expanded: Record<string, string[]>;
  compare: boolean;
  spreadMethod: SpreadMethod;
  sandbox: string;
  panel: "comments" | "chart" | "sandbox" | null;
  /** Typed values by coordinate key. */
  edits: Record<string, Edit>;
  /** Last live update from another user (status bar). */
  live: string;
  /**
   * Widths of the columns the user resized, CSS px, by column key (the column's member codes,
   * and its layer in compare mode: see columnKey), so a width follows its column across
   * expansion, pivots that keep the column, and compare mode.
   */
  colWidths: Record<string, number>;
  /** Width of each row header level, CSS px (dragged in the corner). */
  rowHeaderWidth: number;

  setApp(app: string): void;
  /** A whole layout; `expanded` (default: none) replaces the expansions. */
  setLayout(rows: AxisDim[], cols: AxisDim[], pages: Record<string, string>, expanded?: Record<string, string[]>): void;
  moveDim(dim: string, to: Zone, defaultMember: string): void;
  /** New roots for a dimension on an axis, shown collapsed (its expansions are dropped). */
  setRoots(dim: string, roots: string[]): void;
  setPage(dim: string, member: string): void;
  toggleExpanded(dim: string, code: string): void;
  setCompare(on: boolean): void;
  setSpreadMethod(m: SpreadMethod): void;
  setSandbox(name: string): void;
  setPanel(p: ViewState["panel"]): void;
  putEdit(key: string, edit: Edit): void;
  dropEdit(key: string): void;
  setLive(text: string): void;
  setColWidth(key: string, width: number): void;
  setRowHeaderWidth(width: number): void;
}

/** The key a column's width is kept under: its member codes per column dimension, and layer. */
export function columnKey(codes: readonly (string | undefined)[], layer: number | null): string {
  return codes.join("\u0001") + (layer === null ? "" : `\u0002${layer}`);
}

function without(list: AxisDim[], dim: string): AxisDim[] {
  return list.filter((a) => a.dim !== dim);
}

export const useView = create<ViewState>()((set) => ({
  app: "",
  rows: [],
  cols: [],
  pages: {},
  expanded: {},
  compare: false,
  spreadMethod: SpreadMethod.PROPORTIONAL,
  sandbox: "",
  panel: null,
  edits: {},
  live: "",
  colWidths: {},
  rowHeaderWidth: 220,

  setApp: (app) => set({ app, rows: [], cols: [], pages: {}, expanded: {}, edits: {}, sandbox: "", colWidths: {} }),
  setLayout: (rows, cols, pages, expanded = {}) => set({ rows, cols, pages, expanded }),
  moveDim: (dim, to, defaultMember) =>
    set((s) => {
      const current = [...s.rows, ...s.cols].find((a) => a.dim === dim);
      const roots = current?.roots ?? [s.pages[dim] ?? defaultMember];
      const pages = { ...s.pages };
      delete pages[dim];
      let rows = without(s.rows, dim);
      let cols = without(s.cols, dim);
      if (to === "rows") rows = [...rows, { dim, roots }];
      else if (to === "cols") cols = [...cols, { dim, roots }];
      else pages[dim] = roots[0] ?? defaultMember;
      // An axis never stays empty: the grid needs a dimension on each.
      if (rows.length === 0 || cols.length === 0) return {};
      return { rows, cols, pages };
    }),
  setRoots: (dim, roots) =>
    set((s) => {
      const expanded = { ...s.expanded };
      delete expanded[dim];
      return {
        rows: s.rows.map((a) => (a.dim === dim ? { dim, roots } : a)),
        cols: s.cols.map((a) => (a.dim === dim ? { dim, roots } : a)),
        expanded,
      };
    }),
  setPage: (dim, member) => set((s) => ({ pages: { ...s.pages, [dim]: member } })),
  toggleExpanded: (dim, code) =>
    set((s) => {
      const list = s.expanded[dim] ?? [];
      const next = list.includes(code) ? list.filter((c) => c !== code) : [...list, code];
      return { expanded: { ...s.expanded, [dim]: next } };
    }),
  setCompare: (compare) => set({ compare }),
  setSpreadMethod: (spreadMethod) => set({ spreadMethod }),
  setSandbox: (sandbox) => set({ sandbox }),
  setPanel: (panel) => set({ panel }),
  putEdit: (key, edit) => set((s) => ({ edits: { ...s.edits, [key]: edit } })),
  dropEdit: (key) =>
    set((s) => {
      const edits = { ...s.edits };
      delete edits[key];
      return { edits };
    }),
  setLive: (live) => set({ live }),
  setColWidth: (key, width) => set((s) => ({ colWidths: { ...s.colWidths, [key]: width } })),
  setRowHeaderWidth: (rowHeaderWidth) => set({ rowHeaderWidth }),
}));
