// Side panels: the comment thread of the focused cell, a chart of the selected rows over time,
// and the sandbox switcher.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactElement } from "react";
import type { Api } from "../data/api";
import type { LoadedDimension } from "../data/dimensions";
import { gridSpec, type ViewSpec } from "../data/grid-query";
import { errorMessage } from "../data/writes";
import { CellKind, ConflictPolicy, Layer } from "../gen/quantatom/v1/common_pb";
import type { Conflict } from "../gen/quantatom/v1/common_pb";
import { formatNumber } from "../grid/frame";
import type { AxisLayout } from "../grid/header-tree";
import { useView } from "../state/view-store";
import type { FocusInfo } from "./GridPanel";
import type { LoadedApp } from "./PlanningView";

export function CommentsPanel(props: { api: Api; app: string; focus: FocusInfo | null; onChanged: () => void }): ReactElement {
  const qc = useQueryClient();
  const codes = props.focus?.codes ?? [];
  const key = ["comments", props.app, codes.join("|")];
  const list = useQuery({
    queryKey: key,
    enabled: codes.length > 0,
    queryFn: () => props.api.comments.listComments({ app: props.app, coordinate: { members: [...codes] }, limit: 200 }),
  });
  const [text, setText] = useState("");
  const [adjust, setAdjust] = useState("");
  const [replyTo, setReplyTo] = useState<bigint>(0n);
  const add = useMutation({
    mutationFn: () => {
      const a = adjust.trim() === "" ? null : Number(adjust);
      if (a !== null && !Number.isFinite(a)) throw new Error(`adjustment "${adjust}" is not a number`);
      return props.api.comments.addComment({ app: props.app, coordinate: { members: [...codes] }, text, hasAdjust: a !== null, adjust: a ?? 0, parent: replyTo });
    },
    onSuccess: () => {
      setText("");
      setAdjust("");
      setReplyTo(0n);
      void qc.invalidateQueries({ queryKey: key });
      props.onChanged();
    },
  });
  if (!props.focus) return <aside className="panel">Select a cell to see its comments.</aside>;
  const comments = list.data?.comments ?? [];
  const roots = comments.filter((c) => c.parent === 0n || !comments.some((p) => p.id === c.parent));
  const replies = (id: bigint) => comments.filter((c) => c.parent === id);
  const show = (c: (typeof comments)[number], depth: number): ReactElement => (
    <li key={String(c.id)} style={{ marginLeft: depth * 12 }} data-testid="comment">
      <div className="comment-head">
        <b>{c.author}</b> <span className="muted">{new Date(Number(c.unixMillis)).toLocaleString()}</span>
        {c.coordinate && c.coordinate.members.join(",") !== codes.join(",") && <span className="muted"> at {c.coordinate.members.join(", ")}</span>}
      </div>
      <div data-testid="comment-text">{c.text}</div>
      {c.hasAdjust && <div className="adjust">adjustment {formatNumber(c.adjust)}</div>}
      <button className="link" onClick={() => setReplyTo(c.id)}>reply</button>
      <ul>{replies(c.id).map((r) => show(r, depth + 1))}</ul>
    </li>
  );
  return (
    <aside className="panel" data-testid="comments-panel">
      <h3>Comments</h3>
      <div className="muted">{codes.join(", ")}</div>
      {list.isLoading && <div>loading…</div>}
      {list.error && <div className="error">{errorMessage(list.error)}</div>}
      <ul className="thread">{roots.map((c) => show(c, 0))}</ul>
      {comments.length === 0 && !list.isLoading && <div className="muted">No comments here yet.</div>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) add.mutate();
        }}
      >
        {replyTo !== 0n && <div className="muted">replying to #{String(replyTo)} <button type="button" className="link" onClick={() => setReplyTo(0n)}>cancel</button></div>}
        <textarea data-testid="comment-input" value={text} onChange={(e) => setText(e.target.value)} placeholder="Add a comment" />
        <input data-testid="adjust-input" value={adjust} onChange={(e) => setAdjust(e.target.value)} placeholder="adjustment (optional)" />
        <button type="submit" data-testid="comment-add" disabled={add.isPending}>Add</button>
        {add.error && <div className="error" data-testid="comment-error">{errorMessage(add.error)}</div>}
      </form>
    </aside>
  );
}

const kPalette = ["#1a73e8", "#d93025", "#188038", "#f29900", "#9334e6", "#12b5cb", "#e52592", "#5f6368"];

export function ChartPanel(props: { api: Api; loaded: LoadedApp; view: ViewSpec; rows: AxisLayout; focus: FocusInfo | null }): ReactElement {
  const { api, loaded, view, rows, focus } = props;
  const time = [...loaded.byName.values()].find((d) => d.type === "time");
  const rowTuples = (focus?.selectedRows ?? []).map((r) => rows.tupleAt(r));
  const timeCode = focus && time ? focus.codes[view.appDimensions.indexOf(time.name)] : "";
  const q = useQuery({
    queryKey: ["chart", view.app, view.sandbox, JSON.stringify(rowTuples), focus?.codes.join("|")],
    enabled: !!focus && !!time && rowTuples.length > 0,
    queryFn: async () => {
      const t = time as LoadedDimension;
      const tid = t.byCode.get(timeCode) as number;
      // Over time: the leaves under the focused period, or under its top when it is a leaf.
      let top = tid;
      if (t.members.get(tid)?.children.length === 0) {
        const parentOf = new Map<number, number>();
        for (const m of t.members.values()) for (const c of m.children) parentOf.set(c, m.id);
        while (parentOf.has(top)) top = parentOf.get(top) as number;
      }
      const topCode = t.memberInfo.get(top)?.code ?? timeCode;
      const rowDims = view.rowDims.filter((d) => d.name !== t.name);
      const slicers = new Map<string, string>();
      view.appDimensions.forEach((name, i) => {
        if (name !== t.name && !rowDims.some((d) => d.name === name)) slicers.set(name, (focus as FocusInfo).codes[i]);
      });
      const rowCodes = rowDims.map((d) => [...new Set(rowTuples.map((tp) => d.memberInfo.get(tp[view.rowDims.indexOf(d)])?.code ?? ""))]);
      const spec = gridSpec({ ...view, rowDims, colDims: [], slicers }, rowCodes, []);
      spec.cols = { $typeName: "quantatom.v1.Axis", parts: [{ $typeName: "quantatom.v1.AxisPart", dimension: t.name, memberSet: `leaves(${topCode})`, members: [] }] };
      const res = await api.grid.queryGrid({ grid: spec, layers: [Layer.PLAN], sandbox: view.sandbox });
      const plan = res.layers[0];
      return {
        periods: res.colHeaders.map((h) => h.members[0]),
        series: res.rowHeaders.map((h, r) => ({
          label: h.members.join(" / "),
          values: res.colHeaders.map((_, c) => (plan?.kinds[r * res.cols + c] === CellKind.NUMBER ? plan.numbers[r * res.cols + c] : NaN)),
        })),
      };
    },
  });
  if (!focus) return <aside className="panel">Select rows to chart them over time.</aside>;
  if (!time) return <aside className="panel">This app has no time dimension.</aside>;
  const data = q.data;
  const W = 320;
  const H = 200;
  let body: ReactElement = <div>loading…</div>;
  if (q.error) body = <div className="error">{errorMessage(q.error)}</div>;
  else if (data) {
    const all = data.series.flatMap((s) => s.values.filter(Number.isFinite));
    const min = Math.min(0, ...all);
    const max = Math.max(1, ...all);
    const x = (i: number) => 30 + (i / Math.max(1, data.periods.length - 1)) * (W - 40);
    const y = (v: number) => H - 20 - ((v - min) / (max - min || 1)) * (H - 30);
    body = (
      <>
        <svg width={W} height={H} data-testid="chart">
          <line x1={30} x2={W - 10} y1={y(0)} y2={y(0)} stroke="#ccc" />
          {data.series.map((s, k) => (
            <polyline key={k} fill="none" stroke={kPalette[k % kPalette.length]} strokeWidth={2}
              points={s.values.map((v, i) => (Number.isFinite(v) ? `${x(i)},${y(v)}` : "")).filter(Boolean).join(" ")} />
          ))}
          <text x={30} y={H - 4} fontSize={10}>{data.periods[0]}</text>
          <text x={W - 10} y={H - 4} fontSize={10} textAnchor="end">{data.periods[data.periods.length - 1]}</text>
          <text x={2} y={12} fontSize={10}>{formatNumber(max)}</text>
        </svg>
        <ul className="legend">
          {data.series.map((s, k) => (
            <li key={k}><span style={{ color: kPalette[k % kPalette.length] }}>■</span> {s.label}</li>
          ))}
        </ul>
      </>
    );
  }
  return (
    <aside className="panel" data-testid="chart-panel">
      <h3>Selected rows over time</h3>
      {body}
    </aside>
  );
}

export function SandboxPanel(props: { api: Api; app: string; onChanged: () => void }): ReactElement {
  const s = useView();
  const qc = useQueryClient();
  const key = ["sandboxes", props.app];
  const list = useQuery({ queryKey: key, queryFn: () => props.api.sandboxes.listSandboxes({ app: props.app }) });
  const [name, setName] = useState("");
  const [conflicts, setConflicts] = useState<Conflict[]>([]);
  const [message, setMessage] = useState("");
  const done = (text: string) => {
    setMessage(text);
    void qc.invalidateQueries({ queryKey: key });
    props.onChanged();
  };
  const fail = (err: unknown) => setMessage(errorMessage(err));
  return (
    <aside className="panel" data-testid="sandbox-panel">
      <h3>Sandboxes</h3>
      <div>
        Working in: <b data-testid="sandbox-current">{s.sandbox || "the app (no sandbox)"}</b>
        {s.sandbox && <button onClick={() => s.setSandbox("")}>leave</button>}
      </div>
      <ul>
        {(list.data?.sandboxes ?? []).map((b) => (
          <li key={b.name}>
            <button className="link" onClick={() => s.setSandbox(b.name)}>{b.name}</button> <span className="muted">{String(b.cells)} cells, by {b.owner}</span>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.api.sandboxes.createSandbox({ app: props.app, name }).then(() => {
            s.setSandbox(name);
            setName("");
            done(`created ${name}`);
          }, fail);
        }}
      >
        <input data-testid="sandbox-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="new sandbox" />
        <button type="submit" disabled={!name}>Create</button>
      </form>
      {s.sandbox && (
        <div className="sandbox-actions">
          {([["Commit (abort on conflict)", ConflictPolicy.ABORT], ["Commit, keep mine", ConflictPolicy.KEEP_MINE], ["Commit, keep theirs", ConflictPolicy.KEEP_THEIRS]] as const).map(([label, policy]) => (
            <button key={label} onClick={() =>
              props.api.sandboxes.commitSandbox({ app: props.app, name: s.sandbox, conflictPolicy: policy }).then((sum) => {
                setConflicts(sum.conflicts);
                s.setSandbox("");
                done(`committed: ${String(sum.cellsChanged)} cells, ${sum.conflicts.length} conflicts`);
              }, fail)}>
              {label}
            </button>
          ))}
          <button onClick={() =>
            props.api.sandboxes.discardSandbox({ app: props.app, name: s.sandbox }).then(() => {
              s.setSandbox("");
              done("discarded");
            }, fail)}>
            Discard
          </button>
        </div>
      )}
      {message && <div data-testid="sandbox-message">{message}</div>}
      {conflicts.length > 0 && (
        <table className="conflicts" data-testid="conflicts">
          <thead><tr><th>cell</th><th>theirs</th><th>mine</th><th>by</th></tr></thead>
          <tbody>
            {conflicts.map((c, i) => (
              <tr key={i}>
                <td>{c.coordinate?.members.join(", ")}</td>
                <td>{valueText(c.current)}</td>
                <td>{valueText(c.wanted)}</td>
                <td>{c.changedBy}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}

function valueText(v: Conflict["current"]): string {
  if (!v || v.kind.case === undefined) return "";
  return v.kind.case === "number" ? formatNumber(v.kind.value) : v.kind.value;
}
