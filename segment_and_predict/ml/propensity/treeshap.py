"""Exact TreeSHAP contributions, computed once per group of rows that decide alike.

LightGBM's ``pred_contrib=True`` runs path-dependent TreeSHAP for every row and
every tree, O(rows x trees x leaves x depth^2): on the default 240K customers
and ~275 depth-4 trees that is ~40 s on 2 cores, most of the daily job.

A tree's SHAP values for a row depend only on which way the row goes at each
of that tree's splits. Two rows that fall in the same interval between
consecutive split thresholds of every feature the tree uses (and agree on
missing, zero and category) go the same way everywhere in that tree, so they
get the same values. :class:`GroupedTreeShap` therefore groups the rows of each
tree by that key, has LightGBM compute the contributions of one row per group
(``start_iteration=i, num_iteration=1``) and copies them to the group. A tree
has a few hundred to a few thousand groups among 240K customers, so the
TreeSHAP work shrinks about a hundredfold while the result stays LightGBM's
own TreeSHAP: it equals ``pred_contrib`` up to the order of floating-point
summation over trees (differences ~1e-14 in log-odds).

What is left is bookkeeping in numpy, arranged so that it costs little per
row (at 240K: ~2.3-3 s on one core, ~2 s with two threads):

- The model is read once (:class:`GroupedTreeShap` is built per booster and
  kept by ``PropensityModel``): each feature's bin boundaries, and per tree and
  feature a small table from bin to that feature's part of the group key.
- Phase 1: per chunk of rows, each feature's bins (one ``searchsorted``), then
  per tree the group key as a sum of one table lookup per split feature, as
  16-bit integers (depth-4 trees have at most 16K keys), and some row per key.
- LightGBM computes the contributions *and* the tree's output (its leaf value)
  for one row per group, single-threaded per call: the calls are small, and an
  OpenMP team per call costs more than it saves (much more when another
  process holds a core). Values are kept per key across blocks of rows, so a
  later block asks LightGBM only about keys it has not met (most keys recur).
- Phase 2: contributions and leaf values go back to the rows a chunk of rows at
  a time, so the rows being summed into stay in the CPU cache.
- With ``num_threads`` > 1, Python threads share the chunks and the trees;
  numpy and LightGBM release the GIL while they work.

Summing the leaf values in tree order gives LightGBM's raw score bit for bit (it
adds the trees' outputs to 0.0 in the same order), so the probability comes
with the contributions and the separate full ``predict`` of every row, which
took as long as all of the above, is not needed (see
``PropensityModel.probability_and_contributions``).

Ideas measured and left out: joint bins for pairs of features that share many
trees (fewer lookups, but the joint bins cost as much as they saved), and
gathering whole rows of key tables for all trees at once (numpy's row gather
was no faster than one lookup per tree and feature).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import lightgbm as lgb
import numpy as np
import pandas as pd

# LightGBM treats |value| <= this as zero (kZeroThreshold, the float 1e-35f).
_ZERO_THRESHOLD = float(np.float32(1e-35))
# Group keys are int64; fold them before the product of radices could overflow.
_MAX_KEY = 2**62
# Keys up to this bound index a dense table; larger ones are renumbered first.
_DENSE_KEYS = 2**22
# Rows per chunk when contributions go back to the rows: a chunk of one
# feature's contributions (8 bytes a row) and the lookups stay in the L2 cache.
_CHUNK_ROWS = 32_768

# Bins of categorical features.
_NAN_BIN = 0
_NEGATIVE_BIN = 1  # negative values, which LightGBM routes as missing
_FIRST_BIN = 2


def numeric_matrix(X: pd.DataFrame) -> np.ndarray:
    """The encoded feature frame as the float64 matrix LightGBM predicts on.

    Categorical columns become their category codes (missing -> NaN), which is
    how LightGBM maps pandas categoricals with the levels it was trained on.
    The matrix is column-major (Fortran order): it is filled and binned a column
    at a time, and LightGBM accepts either order.
    """
    matrix = np.empty((len(X), len(X.columns)), dtype="float64", order="F")
    for j, name in enumerate(X.columns):
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            matrix[:, j] = codes
            matrix[codes < 0, j] = np.nan
        else:
            matrix[:, j] = column.to_numpy(dtype="float64", na_value=np.nan)
    return matrix


def _splits(tree: dict) -> list[dict]:
    """The internal nodes of one dumped tree, each as the dict LightGBM dumps."""
    nodes, stack = [], [tree["tree_structure"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            nodes.append(node)
            stack.extend((node["left_child"], node["right_child"]))
    return nodes


def _goes_left(node: dict, values: np.ndarray) -> np.ndarray:
    """LightGBM's decision at one split for each value (NumericalDecision and
    CategoricalDecision in its tree.h): True where the value goes to the left child."""
    missing_type = node["missing_type"]
    if node["decision_type"] == "==":
        left_categories = [int(c) for c in str(node["threshold"]).split("||")]
        codes = np.trunc(np.where(np.isnan(values), -1.0, values))
        return (codes >= 0) & np.isin(codes, left_categories)
    if missing_type != "NaN":
        values = np.where(np.isnan(values), 0.0, values)
    missing = np.isnan(values) if missing_type == "NaN" else np.zeros(len(values), dtype=bool)
    if missing_type == "Zero":
        missing = np.abs(values) <= _ZERO_THRESHOLD
    with np.errstate(invalid="ignore"):
        return np.where(missing, bool(node["default_left"]), values <= float(node["threshold"]))


def _numeric_bins(column: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Per-row bin of a numeric feature (see :func:`_boundaries`), as intp.

    The number of boundaries below the value: two values of one bin compare
    alike with every threshold (``v <= t``). NaN sorts after every boundary
    (+inf included), so it gets a bin of its own, the last. The bins are intp
    because they index tables in every tree (numpy converts any other index
    type on each lookup).
    """
    return np.searchsorted(boundaries, column, side="left")


def _boundaries(thresholds: set[float]) -> np.ndarray:
    """Sorted bin boundaries of a numeric feature.

    Its split thresholds, the ends of LightGBM's zero range [-1e-35, 1e-35] and
    +inf (so that +inf and NaN fall in different bins). LightGBM reads any value
    in the zero range as 0.0 (it drops them from the row), so the range is one
    bin, whose value is 0.0, and thresholds inside it are left out.
    """
    outside = {t for t in thresholds if abs(t) > _ZERO_THRESHOLD}
    zero_range = (np.nextafter(-_ZERO_THRESHOLD, -np.inf), _ZERO_THRESHOLD)
    return np.array(sorted({*outside, *zero_range, np.inf}))


def _bin_values(boundaries: np.ndarray) -> np.ndarray:
    """A value standing for each bin of a numeric feature: the upper end of each
    interval (b[k-1], b[k]], 0.0 for the zero range, then NaN."""
    values = np.append(boundaries, np.nan)
    values[np.searchsorted(boundaries, 0.0)] = 0.0
    return values


def _categorical_bins(column: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-row bin (0..n_bins-1) of a categorical feature, as intp: NaN, negative
    (LightGBM routes both as missing), then FIRST + the integer code; codes above
    those any split names share the last bin."""
    nan = np.isnan(column)
    # LightGBM truncates to int before testing the sign: -0.5 is category 0.
    codes = np.clip(np.trunc(np.where(nan, -1.0, column)), -1, n_bins - 1 - _FIRST_BIN)
    bins = codes.astype(np.intp) + _FIRST_BIN
    bins[~nan & (codes < 0)] = _NEGATIVE_BIN
    bins[nan] = _NAN_BIN
    return bins


class _Tree:
    """One tree's split features, and per feature the decision pattern of each bin."""

    def __init__(self, nodes: list[dict], bin_values: dict[int, np.ndarray]):
        by_feature: dict[int, list[dict]] = {}
        for node in nodes:
            by_feature.setdefault(int(node["split_feature"]), []).append(node)
        # Features with non-zero contributions in this tree.
        self.features = sorted(by_feature)
        # (feature, pattern per bin numbered 0..n-1, n) for features whose splits
        # do not all decide alike.
        self.patterns: list[tuple[int, np.ndarray, int]] = []
        for feature in self.features:
            values = bin_values[feature]
            pattern = np.zeros(len(values), dtype=np.int64)
            for bit, node in enumerate(by_feature[feature]):
                pattern |= _goes_left(node, values).astype(np.int64) << bit
            _, compact = np.unique(pattern, return_inverse=True)
            n_patterns = int(compact.max(initial=0)) + 1
            if n_patterns > 1:
                self.patterns.append((feature, compact.astype(np.intp), n_patterns))
        self.bound = math.prod(n_patterns for _, _, n_patterns in self.patterns)
        # Keys of depth-4 trees fit 16 bits: lookups move a quarter of the bytes.
        self.key_dtype = np.uint16 if self.bound <= 2**16 else np.intp
        # Mixed-radix tables: the key is the sum of one lookup per feature.
        self.tables: list[tuple[int, np.ndarray]] | None = None
        if self.bound <= _DENSE_KEYS:
            self.tables, radix = [], 1
            for feature, pattern, n_patterns in self.patterns:
                self.tables.append((feature, (pattern * radix).astype(self.key_dtype)))
                radix *= n_patterns
        # else keys need renumbering on the way: see keys_renumbered

    def keys(self, bins: dict[int, np.ndarray], out: np.ndarray, lookup: np.ndarray) -> None:
        """Group key per row into ``out`` (``key_dtype``, keys < ``bound``);
        ``lookup`` (same dtype) is scratch.

        Rows with one key go the same way at every split of the tree, so TreeSHAP
        gives them the same values. Only for trees whose keys need no renumbering
        (``tables`` not None).
        """
        if not self.tables:
            out[:] = 0
            return
        feature, table = self.tables[0]
        np.take(table, bins[feature], out=out)
        for feature, table in self.tables[1:]:
            np.take(table, bins[feature], out=lookup)
            out += lookup

    def keys_renumbered(self, bins: dict[int, np.ndarray], n_rows: int) -> tuple[np.ndarray, int]:
        """Group keys, and their bound, for trees whose product of radices exceeds
        the dense-table bound (``tables`` None): the key is renumbered to its
        distinct values on the way, so it needs all rows at once."""
        key = np.zeros(n_rows, dtype=np.intp)
        bound = 1
        for feature, pattern, n_patterns in self.patterns:
            if bound * n_patterns >= _MAX_KEY:
                key, uniques = pd.factorize(key)
                bound = len(uniques)
            key += (pattern * bound).take(bins[feature])
            bound *= n_patterns
        if bound > _DENSE_KEYS:
            key, uniques = pd.factorize(key)
            bound = len(uniques)
        return key.astype(np.intp, copy=False), bound


class _GroupValues:
    """One tree's LightGBM values per group of rows, groups numbered 0..n-1 as met.

    For a tree with dense keys this lives as long as the explainer: a group's
    values depend only on its key, so a later block of rows asks LightGBM only
    about keys not met before (at 2.4M customers in blocks of 250K, most keys
    recur in every block).
    """

    def __init__(self, features: list[int], bound: int):
        self.features = features  # the tree's split features
        self.number = np.full(bound, -1, dtype=np.intp)  # key -> group number (-1: not met)
        self.leaf_value = np.empty(0)  # the tree's output, per group
        self.values = np.empty((len(features), 0))  # contributions (features, groups)
        self.expected_value = 0.0

    def add(
        self, keys: np.ndarray, leaf_value: np.ndarray, values: np.ndarray, expected_value: float
    ) -> None:
        """Values of newly met groups: keys (n,), leaf values (n,), contributions (features, n)."""
        self.number[keys] = np.arange(len(self.leaf_value), len(self.leaf_value) + len(keys))
        self.leaf_value = np.concatenate([self.leaf_value, leaf_value])
        self.values = np.concatenate([self.values, values], axis=1)
        self.expected_value = expected_value


class GroupedTreeShap:
    """Exact TreeSHAP of a binary LightGBM model, grouped per tree (module docstring).

    Built once per booster; :meth:`explain` then works on any block of rows.

    Each feature's values are cut into bins that no split of the model
    separates: for a numeric feature the intervals between consecutive
    thresholds of all the model's splits on it, LightGBM's zero range and NaN
    (:func:`_boundaries`); for a categorical feature its codes (NaN and
    negatives apart). Every split decides alike for all values of a bin, so a
    split's decision per row is a lookup by bin.

    Not safe for concurrent calls of :meth:`explain` from several threads (it
    keeps the values of the groups met so far); one call uses its own threads.
    """

    def __init__(self, booster: lgb.Booster):
        dump = booster.dump_model()
        if int(dump.get("num_tree_per_iteration", 1)) != 1:
            raise ValueError("exact TreeSHAP supports single-output (binary) models only")
        self.booster = booster
        self.n_features = int(dump["max_feature_idx"]) + 1
        self.objective = str(dump.get("objective", ""))
        nodes_per_tree = [_splits(tree) for tree in dump["tree_info"]]
        thresholds: dict[int, set[float] | None] = {}
        for node in (node for nodes in nodes_per_tree for node in nodes):
            feature = int(node["split_feature"])
            if node["decision_type"] == "==":
                thresholds[feature] = None
            elif thresholds.get(feature, set()) is not None:
                thresholds.setdefault(feature, set()).add(float(node["threshold"]))
        # Bin boundaries per numeric split feature, None for categorical ones.
        self.boundaries = {
            feature: None if values is None else _boundaries(values)
            for feature, values in sorted(thresholds.items())
        }
        # A value standing for each bin, to evaluate the splits on.
        bin_values = {}
        for feature, boundaries in self.boundaries.items():
            if boundaries is None:
                # Codes 0..max named in a split, then one bin for all larger codes,
                # which no split names and so all go the same way.
                n_codes = max(_categorical_codes(nodes_per_tree, feature)) + 2
                representative = np.arange(n_codes + _FIRST_BIN, dtype="float64") - _FIRST_BIN
                representative[_NAN_BIN] = np.nan
            else:
                representative = _bin_values(boundaries)
            bin_values[feature] = representative
        self.n_bins = {feature: len(values) for feature, values in bin_values.items()}
        self.trees = [_Tree(nodes, bin_values) for nodes in nodes_per_tree]
        self._copies: list[lgb.Booster] = []
        # Per tree, the values of the groups met so far (see _GroupValues).
        self._known: list[_GroupValues | None] = [None] * len(self.trees)

    def _bins(self, matrix: np.ndarray) -> dict[int, np.ndarray]:
        """Per split feature, the bin of each row."""
        bins = {}
        for feature, boundaries in self.boundaries.items():
            column = np.ascontiguousarray(matrix[:, feature])
            if boundaries is None:
                bins[feature] = _categorical_bins(column, self.n_bins[feature])
            else:
                bins[feature] = _numeric_bins(column, boundaries)
        return bins

    def explain(self, matrix: np.ndarray, num_threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(contributions, raw score) for the rows of ``matrix``.

        ``matrix`` is float64 (n_rows, n_features) as from :func:`numeric_matrix`.
        Contributions have the shape and layout of ``booster.predict(matrix,
        pred_contrib=True)`` (last column = expected value; each row sums to the
        raw log-odds score); the raw score equals ``booster.predict(matrix,
        raw_score=True)`` bit for bit.

        ``num_threads`` > 1 splits the row chunks and the trees between that many
        Python threads: numpy and LightGBM release the GIL while they work, and
        every thread writes its own rows or trees, so the result does not depend
        on the number of threads.
        """
        matrix = np.asarray(matrix, dtype="float64")
        n_rows, n_features = matrix.shape
        if n_features != self.n_features:
            raise ValueError(f"the model has {self.n_features} features, the matrix {n_features}")
        # Feature-major: each feature's contributions are contiguous.
        total = np.zeros((n_features + 1, n_rows))
        raw = np.zeros(n_rows)
        if n_rows == 0:
            return total.T, raw
        chunks = [
            (start, min(start + _CHUNK_ROWS, n_rows)) for start in range(0, n_rows, _CHUNK_ROWS)
        ]
        n_workers = max(1, min(int(num_threads), len(chunks)))
        with ThreadPoolExecutor(n_workers) if n_workers > 1 else nullcontext() as pool:
            run = pool.map if pool is not None else map
            # Phase 1: group keys, each worker a share of the chunks.
            keys = [np.empty(n_rows, dtype=tree.key_dtype) for tree in self.trees]
            found = list(
                run(lambda part: self._group_keys(matrix, part, keys), _deal(chunks, n_workers))
            )
            # Some row of each group: any worker's row will do.
            any_rows = [np.maximum.reduce(tables) for tables in zip(*found, strict=True)]
            del found
            self._renumbered_keys(matrix, keys, any_rows)
            # LightGBM's values per group, each worker a share of the trees.
            boosters = self._boosters(n_workers)
            groups = [None] * len(self.trees)

            def values(worker: int) -> None:
                for i in range(worker, len(self.trees), n_workers):
                    groups[i] = self._group_values(boosters[worker], i, matrix, any_rows[i])

            list(run(values, range(n_workers)))
            # Phase 2: values per group to the rows, each worker a share of the chunks.
            list(
                run(
                    lambda part: self._distribute(part, keys, groups, total, raw),
                    _deal(chunks, n_workers),
                )
            )
        # The tree's expected value is the same for every row.
        total[n_features] = sum(tree_groups.expected_value for tree_groups in groups)
        # The transpose is a view (column-major): no second copy of the result.
        return total.T, raw

    def _group_keys(
        self, matrix: np.ndarray, chunks: list[tuple[int, int]], keys: list[np.ndarray]
    ) -> list[np.ndarray]:
        """Phase 1 for ``chunks``: each row's group key into ``keys`` (per tree;
        uint16 where they fit, read again in phase 2), and per tree a table from
        key to some row of these chunks with that key (-1: none).

        A chunk of rows at a time, so the chunk's bins stay in the CPU cache. Trees
        whose keys need renumbering are left to :meth:`_renumbered_keys`.
        """
        row_numbers = np.arange(len(matrix))
        any_rows = [
            np.full(tree.bound if tree.tables is not None else 0, -1, dtype=np.intp)
            for tree in self.trees
        ]
        lookups = {dtype: np.empty(_CHUNK_ROWS, dtype=dtype) for dtype in (np.uint16, np.intp)}
        for start, stop in chunks:
            bins = self._bins(matrix[start:stop])
            rows = row_numbers[start:stop]
            for tree, tree_keys, any_row in zip(self.trees, keys, any_rows, strict=True):
                if tree.tables is not None:
                    key = tree_keys[start:stop]
                    tree.keys(bins, out=key, lookup=lookups[tree.key_dtype][: stop - start])
                    any_row[key] = rows  # rows of one key all decide alike: any will do
        return any_rows

    def _renumbered_keys(
        self, matrix: np.ndarray, keys: list[np.ndarray], any_rows: list[np.ndarray]
    ) -> None:
        """Phase 1 for trees whose keys need renumbering on the way, which needs all
        rows at once (large trees only; none of depth 4)."""
        all_bins = None
        for i, tree in enumerate(self.trees):
            if tree.tables is None:
                all_bins = self._bins(matrix) if all_bins is None else all_bins
                keys[i], bound = tree.keys_renumbered(all_bins, len(matrix))
                any_rows[i] = np.full(bound, -1, dtype=np.intp)
                any_rows[i][keys[i]] = np.arange(len(matrix))

    def _distribute(
        self,
        chunks: list[tuple[int, int]],
        keys: list[np.ndarray],
        groups: list[_GroupValues],
        total: np.ndarray,
        raw: np.ndarray,
    ) -> None:
        """Phase 2 for ``chunks``: each tree's values per group added to the rows of
        the group, a chunk of rows at a time so the rows summed into stay in the
        CPU cache."""
        lookup = np.empty(_CHUNK_ROWS)
        for start, stop in chunks:
            chunk_total = total[:, start:stop]
            chunk_raw = raw[start:stop]
            chunk_lookup = lookup[: stop - start]
            for tree_keys, tree_groups in zip(keys, groups, strict=True):
                group = tree_groups.number.take(tree_keys[start:stop])
                # In tree order from 0.0, as LightGBM sums: the same raw score bit for bit.
                np.take(tree_groups.leaf_value, group, out=chunk_lookup)
                chunk_raw += chunk_lookup
                for feature, by_group in zip(tree_groups.features, tree_groups.values, strict=True):
                    np.take(by_group, group, out=chunk_lookup)
                    chunk_total[feature] += chunk_lookup

    def _group_values(
        self, booster: lgb.Booster, index: int, matrix: np.ndarray, any_row: np.ndarray
    ) -> _GroupValues:
        """LightGBM's contributions and leaf value for the groups of tree ``index``
        (``any_row``: some row per key, -1 for keys no row has), asking LightGBM
        only about groups not met in earlier blocks."""
        tree = self.trees[index]
        if tree.tables is None:  # renumbered keys mean nothing outside this block
            known = _GroupValues(tree.features, len(any_row))
        else:
            if self._known[index] is None:
                self._known[index] = _GroupValues(tree.features, tree.bound)
            known = self._known[index]
        met = np.flatnonzero(any_row >= 0)
        new = met[known.number[met] < 0]
        if len(new) == 0:
            return known
        # One row per group; only the tree's split features matter to this tree, so
        # only they are copied (whole rows of a column-major matrix are scattered
        # over memory).
        rows = any_row[new]
        representatives = np.zeros((len(rows), self.n_features))
        for feature in tree.features:
            representatives[:, feature] = matrix[:, feature].take(rows)

        # One thread per call: these calls are small, and starting an OpenMP team
        # for each costs more than it saves (milliseconds a call when another
        # process holds a core).
        def predict(**kind) -> np.ndarray:
            return booster.predict(
                representatives, start_iteration=index, num_iteration=1, num_threads=1, **kind
            )

        values = predict(pred_contrib=True)
        known.add(
            new,
            leaf_value=predict(raw_score=True),
            # Only the tree's split features get non-zero values.
            values=values[:, tree.features].T,
            expected_value=float(values[0, self.n_features]),
        )
        return known

    def _boosters(self, n: int) -> list[lgb.Booster]:
        """``n`` boosters of the model, one per worker thread.

        A LightGBM booster is not safe to predict from two threads with different
        iterations (``start_iteration`` sets state on the booster), so each
        worker gets its own copy (made once, ~15 ms for 275 trees).
        """
        while len(self._copies) < n - 1:
            model = self.booster.model_to_string(num_iteration=-1)  # every tree
            self._copies.append(lgb.Booster(model_str=model))
        return [self.booster, *self._copies[: n - 1]]

    def probability(self, raw_score: np.ndarray) -> np.ndarray | None:
        """The predicted probability from the raw score as LightGBM computes it, or
        None if the objective is not plain binary logistic.

        LightGBM's binary objective returns ``1 / (1 + exp(-sigmoid * raw))`` with
        the C library's ``exp``, which ``math.exp`` calls too; numpy's own
        vectorised ``exp`` differed in the last bit on ~3% of rows (the tests
        compare with LightGBM's predict bit for bit).
        """
        parts = self.objective.split()
        if not parts or parts[0] != "binary":
            return None
        settings = dict(part.split(":", 1) for part in parts[1:] if ":" in part)
        if set(settings) - {"sigmoid"}:
            return None
        sigmoid = float(settings.get("sigmoid", 1.0))
        exp = np.frompyfunc(math.exp, 1, 1)
        return 1.0 / (1.0 + exp(-sigmoid * raw_score).astype("float64"))


def _deal(chunks: list[tuple[int, int]], n: int) -> list[list[tuple[int, int]]]:
    """``chunks`` dealt round-robin into ``n`` shares of (nearly) equal work."""
    return [chunks[i::n] for i in range(n)]


def _categorical_codes(nodes_per_tree: list[list[dict]], feature: int) -> list[int]:
    """Every category code a split on ``feature`` names (0 if none)."""
    codes = [0]
    for nodes in nodes_per_tree:
        for node in nodes:
            if int(node["split_feature"]) == feature and node["decision_type"] == "==":
                codes.extend(int(c) for c in str(node["threshold"]).split("||"))
    return codes


def exact_contributions(
    booster: lgb.Booster, matrix: np.ndarray, num_threads: int = 1
) -> np.ndarray:
    """TreeSHAP contributions of a binary LightGBM model, shape (n_rows, n_features + 1).

    Same values and layout as ``booster.predict(matrix, pred_contrib=True)``
    (last column = expected value; each row sums to the raw log-odds score),
    computed once per group of rows that decide alike in each tree (module
    docstring). ``matrix`` is float64 as from :func:`numeric_matrix`.
    ``num_threads``: see :meth:`GroupedTreeShap.explain`.
    """
    return GroupedTreeShap(booster).explain(matrix, num_threads)[0]
