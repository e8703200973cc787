// Colours, fonts and spacing every renderer draws with.

export const kTheme = {
  font: "12px sans-serif",
  fontHeader: "bold 12px sans-serif",
  gridLine: "#d9dde3",
  /** The body beyond the last row and column. */
  emptyBg: "#ffffff",
  headerBg: "#eef1f5",
  headerFg: "#1f2933",
  cornerBg: "#e2e7ee",
  selectionBg: "#cfe3ff",
  focus: "#1a73e8",
  comment: "#f29900",
  held: "#7b1fa2",
  failed: "#d93025",
  pending: "#5f6368",
  adjusted: "#188038",
  padding: 6,
} as const;
