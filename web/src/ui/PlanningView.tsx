// One app's planning screen: pivot bar, toolbar, grid, side panel. Builds the axis layouts and
// the view spec from the store (client state) and the loaded dimensions (server state).

import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type ReactElement } from "react";
import { Layer } from "../gen/quantatom/v1/common_pb";
import type { Api } from "../data/api";
import { buildDimension, type LoadedDimension } from "../data/dimensions";
import type { ViewSpec } from "../data/grid-query";
import { AxisLayout, expandToFit, visibleMembers, type VisibleMember } from "../grid/header-tree";
import type { RendererKind } from "../grid/render/renderer";
import { useView, type AxisDim } from "../state/view-store";
import { GridPanel, type FocusInfo } from "./GridPanel";
import { ChartPanel, CommentsPanel, SandboxPanel } from "./Panels";
import { PivotBar, Toolbar } from "./Toolbar";

export const kCompareLayers: readonly Layer[] = [Layer.PLAN, Layer.ACTUAL, Layer.TARGET, Layer.VARIANCE_ACTUAL_VS_PLAN];

export interface LoadedApp {
  readonly name: string;
  readonly dimensions: readonly string[];
  readonly byName: ReadonlyMap<string, LoadedDimension>;
}

async function loadApp(api: Api, app: string): Promise<LoadedApp> {
  const [info, dims] = await Promise.all([api.apps.getApp({ app }), api.apps.listDimensions({ app })]);
  const byName = new Map<string, LoadedDimension>();
  await Promise.all(
    dims.dimensions.map(async (d) => {
      const members = [];
      for (let offset = 0; ; ) {
        const page = await api.apps.listMembers({ app, dimension: d.name, offset, limit: 10_000 });
        members.push(...page.members);
        offset += page.members.length;
        if (page.members.length === 0 || offset >= page.total) break;
      }
      byName.set(d.name, buildDimension(d.name, d.type, members));
    }),
  );
  return { name: app, dimensions: info.dimensions, byName };
}

/** The product of the page members' signs (MemberInfo.sign): variance colours use it. */
function slicerSign(a: LoadedApp, pages: Readonly<Record<string, string>>): 1 | -1 {
  let sign: 1 | -1 = 1;
  for (const [dim, code] of Object.entries(pages)) {
    const d = a.byName.get(dim);
    const id = d?.byCode.get(code);
    if (d && id !== undefined && d.memberInfo.get(id)?.sign === -1) sign = sign === 1 ? -1 : 1;
  }
  return sign;
}

/**
 * Rows and columns a first layout opens at most, by expanding each axis's hierarchy
 * (expandToFit): about a screenful of rows; columns a few screens wide.
 */
const kOpenRows = 30;
const kOpenCols = 40;

/**
 * The first layout of an app: time across, the largest other dimension down, the rest as pages
 * (scenario: Budget or Plan when there is one). Both axes open expanded level by level as far as
 * they fit (kOpenRows, kOpenCols), so a planner sees e.g. the P&L's sections by month, not a
 * single total.
 */
export function defaultLayout(app: LoadedApp): { rows: AxisDim[]; cols: AxisDim[]; pages: Record<string, string>; expanded: Record<string, string[]> } {
  const dims = app.dimensions.map((n) => app.byName.get(n) as LoadedDimension);
  const code = (d: LoadedDimension, id: number) => d.memberInfo.get(id)?.code ?? "";
  const time = dims.find((d) => d.type === "time") ?? dims[dims.length - 1];
  const others = dims.filter((d) => d !== time);
  const rowDim = others.filter((d) => d.type !== "scenario").sort((a, b) => b.members.size - a.members.size)[0] ?? others[0] ?? time;
  const pages: Record<string, string> = {};
  for (const d of dims) {
    if (d === time || d === rowDim) continue;
    const preferred = d.type === "scenario" ? ["Budget", "Plan"].find((c) => d.byCode.has(c)) : undefined;
    pages[d.name] = preferred ?? code(d, d.roots[0]);
  }
  const expanded: Record<string, string[]> = {};
  const open = (d: LoadedDimension, limit: number) => {
    const ids = expandToFit(d, d.roots, limit);
    if (ids.size > 0) expanded[d.name] = [...ids].map((id) => code(d, id));
  };
  open(rowDim, kOpenRows);
  if (time !== rowDim) open(time, kOpenCols);
  return {
    rows: [{ dim: rowDim.name, roots: rowDim.roots.map((id) => code(rowDim, id)) }],
    cols: time === rowDim ? [] : [{ dim: time.name, roots: time.roots.map((id) => code(time, id)) }],
    pages,
    expanded,
  };
}

function axisMembers(app: LoadedApp, axis: readonly AxisDim[], expanded: Record<string, string[]>): { dims: LoadedDimension[]; lists: VisibleMember[][] } {
  const dims = axis.map((a) => app.byName.get(a.dim) as LoadedDimension);
  const lists = axis.map((a, i) => {
    const d = dims[i];
    const roots = a.roots.map((c) => d.byCode.get(c)).filter((id): id is number => id !== undefined);
    const open = new Set((expanded[a.dim] ?? []).map((c) => d.byCode.get(c)).filter((id): id is number => id !== undefined));
    return visibleMembers(d, roots, open);
  });
  return { dims, lists };
}

export function PlanningView({ api, app, user, renderer }: { api: Api; app: string; user: string; renderer?: RendererKind }): ReactElement {
  const loaded = useQuery({ queryKey: ["app", app], queryFn: () => loadApp(api, app), staleTime: Infinity });
  const s = useView();
  const [focus, setFocus] = useState<FocusInfo | null>(null);
  const [refreshToken, setRefreshToken] = useState(0);

  useEffect(() => {
    if (loaded.data && s.rows.length === 0) {
      const l = defaultLayout(loaded.data);
      s.setLayout(l.rows, l.cols, l.pages, l.expanded);
    }
  }, [loaded.data, s.rows.length]);

  const built = useMemo(() => {
    const a = loaded.data;
    if (!a || s.rows.length === 0 || s.cols.length === 0) return null;
    const r = axisMembers(a, s.rows, s.expanded);
    const c = axisMembers(a, s.cols, s.expanded);
    const layerLevel: VisibleMember[] = kCompareLayers.map((id) => ({ id, depth: 0, hasChildren: false, expanded: false }));
    const view: ViewSpec = {
      app,
      appDimensions: a.dimensions,
      rowDims: r.dims,
      colDims: c.dims,
      layers: s.compare ? kCompareLayers : [],
      slicers: new Map(Object.entries(s.pages)),
      sandbox: s.sandbox,
      slicerSign: slicerSign(a, s.pages),
    };
    return {
      view,
      rows: new AxisLayout(r.lists),
      cols: new AxisLayout(s.compare ? [...c.lists, layerLevel] : c.lists),
    };
  }, [loaded.data, s.rows, s.cols, s.pages, s.expanded, s.compare, s.sandbox, app]);

  if (loaded.error) return <div className="error">Cannot load app {app}: {String(loaded.error)}</div>;
  if (!loaded.data || !built) return <div className="loading">Loading {app}…</div>;
  const refresh = () => setRefreshToken((t) => t + 1);
  return (
    <div className="planning">
      <PivotBar app={loaded.data} />
      <Toolbar api={api} app={app} focus={focus} view={built.view} onChanged={refresh} />
      <div className="main">
        <GridPanel
          api={api}
          view={built.view}
          rows={built.rows}
          cols={built.cols}
          renderer={renderer}
          user={user}
          onFocus={setFocus}
          refreshToken={refreshToken}
        />
        {s.panel === "comments" && <CommentsPanel api={api} app={app} focus={focus} onChanged={refresh} />}
        {s.panel === "chart" && <ChartPanel api={api} loaded={loaded.data} view={built.view} rows={built.rows} focus={focus} />}
        {s.panel === "sandbox" && <SandboxPanel api={api} app={app} onChanged={refresh} />}
      </div>
    </div>
  );
}
