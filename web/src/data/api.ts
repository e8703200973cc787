// The Connect clients of the QuantatomAI API, binary protobuf over same-origin HTTP. The API
// token travels as `Authorization: Bearer <token>`; it comes from `?token=` once and is then
// kept in sessionStorage (per tab, so two tabs can be two users).

import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../gen/quantatom/v1/admin_pb";
import { AppService } from "../gen/quantatom/v1/apps_pb";
import { GridService } from "../gen/quantatom/v1/grid_pb";
import { AuditService, CommentService, PlanningService, SandboxService } from "../gen/quantatom/v1/planning_pb";
import { WriteService } from "../gen/quantatom/v1/write_pb";

const kTokenKey = "quantatom.token";

export function currentToken(): string {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) sessionStorage.setItem(kTokenKey, fromUrl);
  return sessionStorage.getItem(kTokenKey) ?? "";
}

export function setToken(token: string): void {
  sessionStorage.setItem(kTokenKey, token);
}

export interface Api {
  readonly apps: Client<typeof AppService>;
  readonly grid: Client<typeof GridService>;
  readonly write: Client<typeof WriteService>;
  readonly planning: Client<typeof PlanningService>;
  readonly comments: Client<typeof CommentService>;
  readonly sandboxes: Client<typeof SandboxService>;
  readonly audit: Client<typeof AuditService>;
  readonly admin: Client<typeof AdminService>;
}

export function createApi(baseUrl: string, token: () => string): Api {
  const auth: Interceptor = (next) => (req) => {
    const t = token();
    if (t) req.header.set("Authorization", `Bearer ${t}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors: [auth] });
  return {
    apps: createClient(AppService, transport),
    grid: createClient(GridService, transport),
    write: createClient(WriteService, transport),
    planning: createClient(PlanningService, transport),
    comments: createClient(CommentService, transport),
    sandboxes: createClient(SandboxService, transport),
    audit: createClient(AuditService, transport),
    admin: createClient(AdminService, transport),
  };
}
