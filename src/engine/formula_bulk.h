// Full recalculation of leaf-level formulas by merged slice walks (engine-internal).
//
// The cells a formula reads through its driving inputs differ from the formula's own cell only
// in the formula dimension's member (and, for prev / lag / next / lead, by a fixed step along
// time). So instead of looking up each input of each cell, the formula walks the slice of each
// member it reads (store/slice_cursor.h) and merges the walks by residual key: the union of the
// walks is the set of cells the formula has (no feeders, no candidate sort), and each walk's
// current cell is that input's value there. The expression then runs over columns of 512 cells
// (VM, JIT or interpreter), and the results are merged with a walk of the formula's own slice
// into the sorted list of changes (new, changed and vanished cells), which the cube applies in
// one pass (CellStore::ApplySorted). Inputs that do not align (attributes, lookups, pinned
// members of other dimensions, time windows) are read per cell as before (formula_inputs.h),
// in the same order of additions, so both paths give the same bits.
//
// Formulas that chain in the same period run fused, as one group: each store slice is walked
// once for the whole group, and a member's reads of an earlier member take that member's results
// from the same batch (docs/formula-language.md, "Fused chains").
//
// The key range is cut into chunks by sampled keys, and the chunks run on all cores.
#pragma once

#include <span>
#include <vector>

#include "engine/formula_state.h"
#include "store/cell_store.h"

namespace quantatom {

// Whether `f` (leaf-level, not in a recurrence) can be recalculated in bulk: each driving input
// reads the same period or a fixed step along time, and the walks are few (at most 32 leaf
// members read through driving inputs; a formula that sums thousands of members goes cell by
// cell).
bool BulkEligible(const AppModel& model, const FormulaState& st, const CompiledFormula& f);

// Whether leaf-level formula `f` (bulk-eligible, after `group` in evaluation order) can join
// the fused pass of `group`: every cell input of `f` is a driving one (read by walks) and it
// reads the cells of group members only at the same period. Its walks of a member's slice then
// take that member's results from the pass itself instead of the store.
bool FusableInto(const AppModel& model, const FormulaState& st, std::span<const int> group, const CompiledFormula& f);

// The changes that bring the cells of `group` (formula indices in evaluation order, each one
// fusable into those before it) to their values computed from `store` now, in one pass: a
// number for a new or changed cell, an erase for a cell a formula no longer has. Per member of
// the group, its changes in key order as consecutive pieces (one per chunk); the members'
// lists interleave (CellStore::ApplySorted merges them).
std::vector<std::vector<CellStore::SortedUpdates>> BulkFormulaUpdates(const AppModel& model, const CellStore& store,
                                                                      const FormulaState& st, std::span<const int> group);

// Tests: cut the key range into chunks of about this many store cells (default 50,000; a
// store of fewer than two chunks' cells is one chunk), so that small models cross chunk bounds.
void SetBulkChunkCellsForTesting(size_t cells);

}  // namespace quantatom
