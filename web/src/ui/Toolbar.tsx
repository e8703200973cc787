// The pivot bar (dimensions on rows, columns and pages, with member pickers) and the toolbar
// (compare layers, spread method, hold, undo and redo, panels).

import { useState, type ReactElement } from "react";
import type { Api } from "../data/api";
import { searchMembers, type LoadedDimension } from "../data/dimensions";
import type { ViewSpec } from "../data/grid-query";
import { errorMessage, kSpreadMethodNames } from "../data/writes";
import { SpreadMethod } from "../gen/quantatom/v1/write_pb";
import { CellFlag } from "../grid/paging";
import { useView, type Zone } from "../state/view-store";
import type { FocusInfo } from "./GridPanel";
import type { LoadedApp } from "./PlanningView";

export function MemberPicker(props: { dim: LoadedDimension; onPick: (code: string) => void; onClose: () => void }): ReactElement {
  const [query, setQuery] = useState("");
  const found = searchMembers(props.dim, query, 60);
  return (
    <div className="picker" data-testid={`picker-${props.dim.name}`}>
      <input autoFocus placeholder={`search ${props.dim.name}`} value={query} onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && props.onClose()} data-testid="picker-search" />
      <ul>
        {found.map((m) => (
          <li key={m.id}>
            <button data-testid={`pick-${m.code}`} onClick={() => props.onPick(m.code)}>
              <b>{m.code}</b> {m.name !== m.code ? m.name : ""}
            </button>
          </li>
        ))}
        {found.length === 0 && <li className="muted">no member matches</li>}
      </ul>
    </div>
  );
}

function DimChip({ app, dim, zone }: { app: LoadedApp; dim: string; zone: Zone }): ReactElement {
  const s = useView();
  const [picking, setPicking] = useState(false);
  const d = app.byName.get(dim) as LoadedDimension;
  const first = d.memberInfo.get(d.roots[0])?.code ?? "";
  const label =
    zone === "pages" ? s.pages[dim] : ([...s.rows, ...s.cols].find((a) => a.dim === dim)?.roots ?? []).join(", ");
  return (
    <span className="chip" data-testid={`chip-${dim}`}>
      <b>{dim}</b>
      <button className="chip-members" data-testid={`members-${dim}`} onClick={() => setPicking(!picking)} title="choose members">
        {label}
      </button>
      <select value={zone} data-testid={`zone-${dim}`} onChange={(e) => s.moveDim(dim, e.target.value as Zone, first)} title="move to">
        <option value="rows">rows</option>
        <option value="cols">columns</option>
        <option value="pages">page</option>
      </select>
      {picking && (
        <MemberPicker
          dim={d}
          onClose={() => setPicking(false)}
          onPick={(code) => {
            if (zone === "pages") s.setPage(dim, code);
            else s.setRoots(dim, [code]);
            setPicking(false);
          }}
        />
      )}
    </span>
  );
}

export function PivotBar({ app }: { app: LoadedApp }): ReactElement {
  const s = useView();
  const zone = (name: string, zoneId: Zone, dims: string[]) => (
    <div className="zone" data-testid={`zone-list-${zoneId}`}>
      <span className="zone-name">{name}</span>
      {dims.map((d) => <DimChip key={d} app={app} dim={d} zone={zoneId} />)}
    </div>
  );
  return (
    <div className="pivot-bar">
      {zone("Rows", "rows", s.rows.map((a) => a.dim))}
      {zone("Columns", "cols", s.cols.map((a) => a.dim))}
      {zone("Pages", "pages", Object.keys(s.pages))}
    </div>
  );
}

export function Toolbar(props: { api: Api; app: string; focus: FocusInfo | null; view: ViewSpec; onChanged: () => void }): ReactElement {
  const s = useView();
  const [message, setMessage] = useState("");
  const run = (what: string, p: Promise<unknown>) =>
    p.then(
      () => {
        setMessage("");
        props.onChanged();
      },
      (err) => setMessage(`${what} failed: ${errorMessage(err)}`),
    );
  const held = props.focus ? (props.focus.flags & CellFlag.Held) !== 0 : false;
  return (
    <div className="toolbar">
      <label>
        <input type="checkbox" data-testid="compare" checked={s.compare} onChange={(e) => s.setCompare(e.target.checked)} />
        Plan / Actual / Target / Variance
      </label>
      <label>
        Spread
        <select data-testid="spread-method" value={s.spreadMethod} onChange={(e) => s.setSpreadMethod(Number(e.target.value) as SpreadMethod)}>
          {Object.entries(kSpreadMethodNames).map(([v, name]) => (
            <option key={v} value={v}>{name}</option>
          ))}
        </select>
      </label>
      <button
        data-testid="hold"
        disabled={!props.focus}
        onClick={() => props.focus && run("hold", props.api.planning.setHold({ app: props.app, coordinate: { members: [...props.focus.codes] }, held: !held }))}
      >
        {held ? "Release hold" : "Hold cell"}
      </button>
      <button data-testid="undo" onClick={() => run("undo", props.api.write.undo({ app: props.app }))}>Undo</button>
      <button data-testid="redo" onClick={() => run("redo", props.api.write.redo({ app: props.app }))}>Redo</button>
      <span className="spacer" />
      {(["comments", "chart", "sandbox"] as const).map((p) => (
        <button key={p} data-testid={`panel-${p}`} className={s.panel === p ? "active" : ""} onClick={() => s.setPanel(s.panel === p ? null : p)}>
          {p === "comments" ? "Comments" : p === "chart" ? "Chart" : `Sandbox${s.sandbox ? `: ${s.sandbox}` : ""}`}
        </button>
      ))}
      {message && <span className="toolbar-error" data-testid="toolbar-error">{message}</span>}
    </div>
  );
}
