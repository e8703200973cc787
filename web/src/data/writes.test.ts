import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CoordinateSchema, Layer } from "../gen/quantatom/v1/common_pb";
import { SpreadMethod } from "../gen/quantatom/v1/write_pb";
import type { Api } from "./api";
import { writeBlock, writeTyped } from "./writes";

// Records the calls a write makes instead of sending them.
function fakeApi() {
  const calls: [string, unknown][] = [];
  const record = (name: string) => (req: unknown) => {
    calls.push([name, req]);
    return Promise.resolve({});
  };
  const api = {
    write: { writeCells: record("writeCells"), spread: record("spread") },
    planning: { setTarget: record("setTarget") },
  } as unknown as Api;
  return { api, calls };
}

const coordinate = create(CoordinateSchema, { members: ["Sales", "EMEA", "Jan", "Budget"] });

describe("writes", () => {
  it("a leaf takes WriteCells; text stays text, empty clears", async () => {
    const { api, calls } = fakeApi();
    await writeTyped(api, "acme", "", { coordinate, layer: Layer.PLAN, consolidated: false }, "1,200", SpreadMethod.PROPORTIONAL);
    await writeTyped(api, "acme", "", { coordinate, layer: Layer.PLAN, consolidated: false }, "see note", SpreadMethod.PROPORTIONAL);
    await writeTyped(api, "acme", "", { coordinate, layer: Layer.PLAN, consolidated: false }, "", SpreadMethod.PROPORTIONAL);
    const values = calls.map(([name, req]) => [name, (req as { cells: { value?: { kind: { case: string; value: unknown } } }[] }).cells[0].value?.kind]);
    expect(values).toEqual([
      ["writeCells", { case: "number", value: 1200 }],
      ["writeCells", { case: "text", value: "see note" }],
      ["writeCells", undefined],
    ]);
  });

  it("a total takes Spread with the chosen method; empty clears by spread", async () => {
    const { api, calls } = fakeApi();
    await writeTyped(api, "acme", "what-if", { coordinate, layer: Layer.PLAN, consolidated: true }, "5000", SpreadMethod.EQUAL);
    await writeTyped(api, "acme", "", { coordinate, layer: Layer.PLAN, consolidated: true }, "", SpreadMethod.EQUAL);
    expect(calls.map(([n, r]) => [n, (r as { method: number }).method, (r as { value: number }).value, (r as { sandbox: string }).sandbox])).toEqual([
      ["spread", SpreadMethod.EQUAL, 5000, "what-if"],
      ["spread", SpreadMethod.CLEAR, 0, ""],
    ]);
    await expect(writeTyped(api, "acme", "", { coordinate, layer: Layer.PLAN, consolidated: true }, "abc", SpreadMethod.EQUAL)).rejects.toThrow('"abc" is not a number: a total takes a number');
  });

  it("the target column sets a target; computed columns refuse typing", async () => {
    const { api, calls } = fakeApi();
    await writeTyped(api, "acme", "", { coordinate, layer: Layer.TARGET, consolidated: true }, "900", SpreadMethod.PROPORTIONAL);
    expect(calls[0][0]).toBe("setTarget");
    expect((calls[0][1] as { target: { value: number; method: string } }).target).toMatchObject({ value: 900, method: "proportional" });
    await expect(writeTyped(api, "acme", "", { coordinate, layer: Layer.ACTUAL, consolidated: false }, "1", SpreadMethod.PROPORTIONAL)).rejects.toThrow("computed");
    expect(calls.length).toBe(1);
  });

  it("a pasted block is one WriteCells; a total in it refuses the whole paste", async () => {
    const { api, calls } = fakeApi();
    const leaf = { coordinate, layer: Layer.PLAN, consolidated: false };
    await writeBlock(api, "acme", "", [{ cell: leaf, text: "1" }, { cell: leaf, text: "2" }, { cell: leaf, text: "3" }]);
    expect(calls.length).toBe(1);
    expect((calls[0][1] as { cells: unknown[] }).cells.length).toBe(3);
    await expect(writeBlock(api, "acme", "", [{ cell: leaf, text: "1" }, { cell: { ...leaf, consolidated: true }, text: "2" }])).rejects.toThrow("paste goes into plan leaf cells only");
    expect(calls.length).toBe(1);
  });
});
