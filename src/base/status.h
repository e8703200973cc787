// Error handling conventions for QuantatomAI.
//
// Expected failures are values: functions return absl::Status or absl::StatusOr<T>, whose code
// set is gRPC's and therefore also the Connect protocol's. The code says what kind of failure it
// is (InvalidArgument for bad input, NotFound for an unknown member, FailedPrecondition for an
// operation the current state forbids, DataLoss for a damaged file); the message names the
// problem precisely enough to fix it: file, line, field, member code.
//
// Exceptions from third-party libraries are caught at the adapter that calls them.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define QA_CONCAT_INNER_(a, b) a##b
#define QA_CONCAT_(a, b) QA_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define QA_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::absl::Status qa_status_ = (expr);           \
    if (!qa_status_.ok()) return qa_status_;      \
  } while (0)

// `QA_ASSIGN_OR_RETURN(auto x, F());` assigns the value of an absl::StatusOr or returns its
// error from the enclosing function.
#define QA_ASSIGN_OR_RETURN(lhs, expr) \
  QA_ASSIGN_OR_RETURN_IMPL_(QA_CONCAT_(qa_statusor_, __LINE__), lhs, expr)
#define QA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
