// The app shell: token, app picker, and the planning view of the chosen app.

import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { useMemo, useState, type ReactElement } from "react";
import { createApi, currentToken, setToken } from "../data/api";
import { errorMessage } from "../data/writes";
import type { RendererKind } from "../grid/render/renderer";
import { useView } from "../state/view-store";
import { PlanningView } from "./PlanningView";

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });

export function App(): ReactElement {
  return (
    <QueryClientProvider client={queryClient}>
      <Shell />
    </QueryClientProvider>
  );
}

function Shell(): ReactElement {
  const [token, setTokenState] = useState(currentToken());
  const api = useMemo(() => createApi(location.origin, () => token), [token]);
  const params = new URLSearchParams(location.search);
  const renderer = (params.get("renderer") || undefined) as RendererKind | undefined;
  const who = useQuery({ queryKey: ["whoami", token], queryFn: () => api.admin.whoAmI({}), enabled: token !== "" });
  const apps = useQuery({ queryKey: ["apps", token], queryFn: () => api.apps.listApps({}), enabled: who.isSuccess });
  const app = useView((s) => s.app);
  const setApp = useView((s) => s.setApp);

  if (!token || who.error) {
    return (
      <form className="login" onSubmit={(e) => {
        e.preventDefault();
        const t = String(new FormData(e.currentTarget).get("token") ?? "");
        setToken(t);
        setTokenState(t);
      }}>
        <h2>QuantatomAI</h2>
        {who.error && <div className="error">{errorMessage(who.error)}</div>}
        <input name="token" placeholder="API token" data-testid="token" />
        <button type="submit">Sign in</button>
      </form>
    );
  }
  const names = (apps.data?.apps ?? []).map((a) => a.name);
  const wanted = params.get("app");
  const current = app || (wanted && names.includes(wanted) ? wanted : names[0] ?? "");
  if (current && current !== app) queueMicrotask(() => setApp(current));
  return (
    <div className="shell">
      <header>
        <b>QuantatomAI</b>
        <select data-testid="app-picker" value={current} onChange={(e) => setApp(e.target.value)}>
          {names.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
        <span className="muted" data-testid="user">{who.data?.user}</span>
      </header>
      {apps.error && <div className="error">{errorMessage(apps.error)}</div>}
      {app ? <PlanningView key={app} api={api} app={app} user={who.data?.user ?? ""} renderer={renderer} /> : <div className="loading">No apps on this server.</div>}
    </div>
  );
}
