// Typing, pasting and clearing as API calls. Every call is one change set on the server, so one
// undo takes it back: a leaf value is WriteCells, a total is Spread (with the chosen method and
// the leaves the user holds), a pasted block of leaves is one WriteCells, and a value typed into
// the target layer is SetTarget.

import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { CellValueSchema, Layer, type Coordinate } from "../gen/quantatom/v1/common_pb";
import { SpreadMethod } from "../gen/quantatom/v1/write_pb";
import { parseCellInput } from "../grid/clipboard";
import type { Api } from "./api";

export interface CellTarget {
  readonly coordinate: Coordinate;
  readonly layer: Layer;
  readonly consolidated: boolean;
}

export const kSpreadMethodNames: Record<number, string> = {
  [SpreadMethod.PROPORTIONAL]: "proportional",
  [SpreadMethod.EQUAL]: "equal",
  [SpreadMethod.REPEAT]: "repeat",
  [SpreadMethod.PERCENT]: "percent",
  [SpreadMethod.ADD]: "add",
  [SpreadMethod.CLEAR]: "clear",
};

/** The message to show beside a cell for a failed call. */
export function errorMessage(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage || err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Writes one typed value. Throws with a message for the user when it cannot be done. */
export async function writeTyped(api: Api, app: string, sandbox: string, cell: CellTarget, text: string, method: SpreadMethod): Promise<void> {
  const input = parseCellInput(text);
  if (cell.layer === Layer.TARGET) {
    if (input.kind !== "number") throw new Error(input.kind === "error" ? input.message : "a target needs a number");
    await api.planning.setTarget({ app, target: { coordinate: cell.coordinate, value: input.value, method: kSpreadMethodNames[method] ?? "proportional" } });
    return;
  }
  if (cell.layer !== Layer.PLAN) throw new Error("this column is computed (actual, variance): type into the plan or target column");
  if (cell.consolidated) {
    if (input.kind === "error") throw new Error(`${input.message}: a total takes a number`);
    const spreadMethod = input.kind === "clear" ? SpreadMethod.CLEAR : method;
    await api.write.spread({ app, sandbox, target: cell.coordinate, method: spreadMethod, value: input.kind === "number" ? input.value : 0 });
    return;
  }
  const value =
    input.kind === "number" ? create(CellValueSchema, { kind: { case: "number", value: input.value } })
    : input.kind === "clear" ? undefined
    : create(CellValueSchema, { kind: { case: "text", value: text } });
  await api.write.writeCells({ app, sandbox, cells: [{ coordinate: cell.coordinate, value }] });
}

/** Writes a pasted block of leaf cells as one change set. */
export async function writeBlock(api: Api, app: string, sandbox: string, cells: readonly { cell: CellTarget; text: string }[]): Promise<void> {
  const bad = cells.find((c) => c.cell.consolidated || c.cell.layer !== Layer.PLAN);
  if (bad) throw new Error(`paste goes into plan leaf cells only; ${bad.cell.coordinate.members.join(",")} is a total or a computed layer`);
  await api.write.writeCells({
    app,
    sandbox,
    cells: cells.map(({ cell, text }) => {
      const input = parseCellInput(text);
      const value =
        input.kind === "number" ? create(CellValueSchema, { kind: { case: "number", value: input.value } })
        : input.kind === "clear" ? undefined
        : create(CellValueSchema, { kind: { case: "text", value: text } });
      return { coordinate: cell.coordinate, value };
    }),
  });
}
