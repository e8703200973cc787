// The API's methods (proto/quantatom/v1) bound to an AppHost, a TokenStore and the member
// rights of each app. Register() binds every method of every service in the package; a method
// not served yet answers `unimplemented` (after authorization, like every other).
//
// Every method declares the right it needs in its descriptor (quantatom.v1.required_right);
// Authorize() checks it: READ, WRITE and AUTHENTICATED need a valid token (cells are then
// filtered per user by security/rights.h), MODEL_ADMIN and SERVER_ADMIN an admin user.
//
// What a user may not see is reported as if it did not exist: an app the user has no role on
// and a member the user reads nothing at or below are "not found", with the same message as a
// name that does not exist.
#pragma once

#include <memory>

#include "auth/token_store.h"
#include "server/app_host.h"
#include "server/connect.h"
#include "server/metrics.h"

namespace quantatom {

struct ServiceOptions {
  bool rights_cache = true;  // compiled rights cached per role set
  bool grid_cache = true;    // the cube's consolidated cache
};

class LiveGrids;

class ApiServices {
 public:
  ApiServices(AppHost* host, TokenStore* tokens, Metrics* metrics, ServiceOptions options = {});
  ~ApiServices();
  Authorizer MakeAuthorizer() const;
  // Binds every method to `server`; Subscribe streams go to server.broadcaster(). Once.
  void Register(ConnectServer& server);
  // Open Subscribe streams.
  size_t subscribers() const;
  // The live-update machinery (null before Register): its per-delivery phases for benchmarks.
  LiveGrids* live() const { return live_.get(); }

 private:
  AppHost* host_;
  TokenStore* tokens_;
  Metrics* metrics_;
  ServiceOptions options_;
  std::unique_ptr<LiveGrids> live_;
};

}  // namespace quantatom
