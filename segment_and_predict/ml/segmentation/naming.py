"""Segment profiles and rule-based, marketer-readable names and descriptions.

A segment is described by how its customers differ from the whole base on a
handful of "dimensions" (frequency, spend, recency, engagement, discount use,
email engagement, category affinity, ...). Each dimension has a standardised
deviation z = (segment mean - base mean) / base standard deviation, computed
on the same log scale the clustering uses for counts and amounts. Names come
from patterns of those deviations; descriptions quote plain ratios and
percentages in raw units.

Everything the rules need is stored in the profile dicts, so names can be
recomputed from a model's JSON without the training data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .preprocessing import (
    CATEGORY_SHARE_PREFIX,
    EXCLUDED_CATEGORY_SHARES,
    PROFILE_CATEGORICALS,
    numeric_column,
)


@dataclass(frozen=True)
class Dimension:
    """One describable behaviour.

    ``kind`` is "mean" (mean of the column over non-null rows) or "null_share"
    (share of rows where the column is null, e.g. "cannot be emailed").
    ``log`` = compare on log1p scale (skewed counts/amounts).
    """

    key: str
    column: str
    kind: str = "mean"
    log: bool = False


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("frequency", "orders_365d", log=True),
    Dimension("spend", "total_spend_365d", log=True),
    Dimension("recency", "days_since_last_order", log=True),
    Dimension("no_order", "days_since_last_order", kind="null_share"),
    Dimension("engagement", "sessions_30d", log=True),
    Dimension("discount", "discount_usage_rate_365d"),
    Dimension("basket", "avg_order_value_365d", log=True),
    Dimension("email_open", "email_open_rate_90d"),
    Dimension("email_unreachable", "email_open_rate_90d", kind="null_share"),
    Dimension("tenure", "tenure_days", log=True),
)

# A dimension is only described when enough of the segment has a value.
_MIN_NON_NULL_SHARE = 0.2


def _dimensions_for(features: pd.DataFrame) -> list[Dimension]:
    dims = [d for d in DIMENSIONS if d.column in features.columns]
    for col in sorted(features.columns):
        col = str(col)
        if col.startswith(CATEGORY_SHARE_PREFIX) and col not in EXCLUDED_CATEGORY_SHARES:
            dims.append(Dimension("category:" + col[len(CATEGORY_SHARE_PREFIX) :], col))
    return dims


def _summarise(values: dict[str, np.ndarray], dims: list[Dimension], mask: np.ndarray) -> dict:
    out = {}
    for d in dims:
        v = values[d.column][mask]
        nulls = np.isnan(v)
        if d.kind == "null_share":
            out[d.key] = {"value": float(nulls.mean()) if len(v) else float("nan"), "n": len(v)}
            continue
        ok = v[~nulls]
        t = np.log1p(np.maximum(ok, 0.0)) if d.log else ok
        out[d.key] = {
            "value": float(ok.mean()) if len(ok) else float("nan"),
            "t_mean": float(t.mean()) if len(t) else float("nan"),
            "t_std": float(t.std()) if len(t) else float("nan"),
            "non_null_share": float(len(ok) / len(v)) if len(v) else 0.0,
        }
    return out


def _categorical_profile(features: pd.DataFrame, mask: np.ndarray, top: int = 3) -> dict:
    out = {}
    for col in PROFILE_CATEGORICALS:
        if col not in features.columns:
            continue
        s = features[col][mask].astype("string").fillna("unknown")
        shares = s.value_counts(normalize=True).head(top)
        out[col] = {str(k): round(float(v), 4) for k, v in shares.items()}
    return out


def _buyer_mask(values: dict[str, np.ndarray]) -> np.ndarray | None:
    """Customers with an order in the 365-day look-back, from whichever column exists."""
    if "days_since_last_order" in values and not np.isnan(values["days_since_last_order"]).all():
        return ~np.isnan(values["days_since_last_order"])
    if "orders_365d" in values and not np.isnan(values["orders_365d"]).all():
        return np.nan_to_num(values["orders_365d"]) > 0
    return None


def _deviation(d: Dimension, seg: dict, ref: dict, seg_n: int) -> float | None:
    if d.kind == "null_share":
        p = ref["value"]
        sd = np.sqrt(p * (1 - p)) if p is not None and np.isfinite(p) else 0.0
        return _clean((seg["value"] - p) / sd) if sd > 0 and seg_n else 0.0
    if seg["non_null_share"] >= _MIN_NON_NULL_SHARE and ref["t_std"] > 0:
        return _clean((seg["t_mean"] - ref["t_mean"]) / ref["t_std"])
    return None


def compute_profiles(
    features: pd.DataFrame, labels: np.ndarray, n_segments: int
) -> tuple[list[dict], dict]:
    """Describe each segment, the whole base and the active buyers.

    Parameters
    ----------
    features : DataFrame (n_rows, columns of customer_features)
    labels : ndarray (n_rows,) of ints in ``[0, n_segments)``

    Returns
    -------
    profiles : list of dict, one per label: ``size``, ``share``,
        ``feature_means`` (raw units, non-null mean per numeric column),
        ``dimensions`` (per dimension: ``value`` in raw units, ``z`` = the
        standardised deviation from all customers and ``z_buyers`` = from the
        customers with an order in the last 365 days), ``categorical`` (top
        values and their shares for the profile fields).
    base : dict with ``size``, ``feature_means``, ``dimensions`` (values over
        all customers), ``buyer_dimensions`` (over buyers) and ``categorical``.
    """
    dims = _dimensions_for(features)
    numeric_cols = sorted({d.column for d in dims})
    values = {c: numeric_column(features, c) for c in numeric_cols}
    everyone = np.ones(len(features), dtype=bool)
    buyers = _buyer_mask(values)
    base_all = _summarise(values, dims, everyone)
    base_buyers = _summarise(values, dims, buyers) if buyers is not None and buyers.any() else None
    base = {
        "size": len(features),
        "share": 1.0,
        "feature_means": {c: _nanmean(values[c]) for c in numeric_cols},
        "dimensions": {k: {"value": _clean(v["value"])} for k, v in base_all.items()},
        "buyer_dimensions": None
        if base_buyers is None
        else {k: {"value": _clean(v["value"])} for k, v in base_buyers.items()},
        "categorical": _categorical_profile(features, everyone),
    }
    profiles = []
    for s in range(n_segments):
        mask = labels == s
        seg = _summarise(values, dims, mask)
        n = int(mask.sum())
        dimensions = {}
        for d in dims:
            dimensions[d.key] = {
                "value": _clean(seg[d.key]["value"]),
                "z": _deviation(d, seg[d.key], base_all[d.key], n),
                "z_buyers": None
                if base_buyers is None
                else _deviation(d, seg[d.key], base_buyers[d.key], n),
            }
        profiles.append(
            {
                "size": n,
                "share": float(mask.mean()) if len(mask) else 0.0,
                "feature_means": {c: _nanmean(values[c][mask]) for c in numeric_cols},
                "dimensions": dimensions,
                "categorical": _categorical_profile(features, mask),
            }
        )
    return profiles, base


def _nanmean(v: np.ndarray) -> float | None:
    ok = v[~np.isnan(v)]
    return float(ok.mean()) if len(ok) else None


def _clean(x) -> float | None:
    """NaN -> None so profiles are valid JSON."""
    return None if x is None or not np.isfinite(x) else float(x)


# ---------------------------------------------------------------- naming
def _is_buyer_segment(profile: dict) -> bool:
    """Mostly customers with a recent order: compared with buyers, not everyone.

    Against the whole base (often half non-buyers) every buyer group would
    look like a "loyal high spender"; against buyers the groups differ.
    """
    no_order = profile["dimensions"].get("no_order", {}).get("value")
    has_ref = any(d.get("z_buyers") is not None for d in profile["dimensions"].values())
    return has_ref and no_order is not None and no_order < 0.5


def _z(profile: dict, key: str) -> float:
    d = profile["dimensions"].get(key)
    if not d:
        return 0.0
    z = d.get("z_buyers") if _is_buyer_segment(profile) else d.get("z")
    return z if z is not None else 0.0


def _val(profile: dict, key: str) -> float | None:
    d = profile["dimensions"].get(key)
    return d["value"] if d else None


def _ref_val(profile: dict, base: dict, key: str) -> float | None:
    ref = base.get("buyer_dimensions") if _is_buyer_segment(profile) else base["dimensions"]
    d = (ref or base["dimensions"]).get(key)
    return d["value"] if d else None


def _top_category(profile: dict) -> tuple[str | None, float]:
    cats = [(k, _z(profile, k)) for k in profile["dimensions"] if k.startswith("category:")]
    if not cats:
        return None, 0.0
    key, z = max(cats, key=lambda kv: (kv[1], kv[0]))
    return key, z


def _category_label(key: str) -> str:
    return key.split(":", 1)[1].replace("_", " ")


def base_name(profile: dict) -> tuple[str, list[str]]:
    """Rule-based name for one segment and the dimensions that drove it."""
    F, S, R = _z(profile, "frequency"), _z(profile, "spend"), _z(profile, "recency")
    E, D = _z(profile, "engagement"), _z(profile, "discount")
    opens, U = _z(profile, "email_open"), _z(profile, "email_unreachable")
    no_order = _val(profile, "no_order")
    cat, C = _top_category(profile)
    if no_order is not None and no_order >= 0.5:
        if E >= 0.5:
            return "Engaged browsers, few orders", ["no_order", "engagement"]
        if opens >= 0.8:
            return "Email readers, no recent orders", ["no_order", "email_open"]
        if E >= 0.25:
            return "Lapsed but still browsing", ["no_order", "engagement"]
        if U >= 1.0:
            return "Dormant and unsubscribed", ["no_order", "email_unreachable"]
        return "Dormant customers", ["no_order", "engagement"]
    if F >= 0.6 and S >= 0.6:
        if R >= 0.5:
            return "Lapsing former regulars", ["recency", "frequency", "spend"]
        return "Loyal high spenders", ["frequency", "spend", "recency"]
    if R >= 0.5:
        if F >= 0.0:
            return "Lapsing former regulars", ["recency", "frequency"]
        return "Lapsing occasional buyers", ["recency", "frequency"]
    if D >= 0.8:
        return "Discount-driven shoppers", ["discount"]
    if cat is not None and C >= 1.0:
        return f"{_category_label(cat).capitalize()} enthusiasts", [cat]
    if E >= 0.8 and F < 0.3:
        return "Engaged browsers, few orders", ["engagement", "frequency"]
    if R <= -0.5:
        if F <= -0.3:
            return "New or occasional buyers", ["recency", "frequency"]
        return "Recently active shoppers", ["recency", "engagement", "frequency"]
    if F >= 0.5:
        return "Regular shoppers", ["frequency", "spend"]
    if U >= 1.0:
        return "Hard-to-reach customers", ["email_unreachable"]
    if opens >= 0.8:
        return "Email-responsive customers", ["email_open"]
    if F <= 0.0 and R <= 0.0:
        return "New or occasional buyers", ["frequency", "recency"]
    if F <= -0.3:
        if E <= -0.3:
            return "Infrequent, low-engagement buyers", ["frequency", "engagement"]
        return "Infrequent buyers", ["frequency", "spend"]
    if S <= -0.5:
        return "Low-value shoppers", ["spend", "frequency"]
    return "Mainstream shoppers", []


# Short qualifiers used to tell apart two segments that got the same name.
_QUALIFIERS = {
    "frequency": ("more frequent", "less frequent"),
    "spend": ("higher spend", "lower spend"),
    "recency": ("longer lapsed", "more recent"),
    "no_order": ("mostly non-buyers", "mostly buyers"),
    "engagement": ("frequent visitors", "rare visitors"),
    "discount": ("discount users", "full-price buyers"),
    "basket": ("big baskets", "small baskets"),
    "email_open": ("email openers", "low email opens"),
    "email_unreachable": ("not emailable", "emailable"),
    "tenure": ("long-standing", "newer"),
}


def _qualifier(key: str, sign: float) -> str:
    if key.startswith("category:"):
        c = _category_label(key)
        return f"{c}-focused" if sign > 0 else f"little {c}"
    hi, lo = _QUALIFIERS[key]
    return hi if sign > 0 else lo


def _distinguish(names: list[str], profiles: list[dict], fixed: set[int]) -> list[str]:
    """Qualify duplicate names by each member's strongest difference from the rest."""
    names = list(names)
    for _ in range(3):
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            groups.setdefault(n, []).append(i)
        dupes = [g for g in groups.values() if len(g) > 1]
        if not dupes:
            return names
        for group in dupes:
            keys = sorted({k for i in group for k in profiles[i]["dimensions"]})
            for i in group:
                if i in fixed:
                    continue  # an inherited name stays as it is
                others = [j for j in group if j != i]
                diffs = {
                    k: _z(profiles[i], k) - np.mean([_z(profiles[j], k) for j in others])
                    for k in keys
                }
                used = names[i]
                for k in sorted(diffs, key=lambda k: (-abs(diffs[k]), k)):
                    q = _qualifier(k, diffs[k])
                    if q not in used:
                        names[i] = f"{used}, {q}"
                        break
    # Last resort (identical profiles): number them, still not "Cluster n".
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[i] = f"{n} ({seen[n]})"
    return names


def _ratio_phrase(verb: str, r: float, more: str, less: str, who: str, absolute: str) -> str | None:
    """ "order 2.3x as often as the average buyer" / "... 40% less often than ...".

    Below half the average a percentage reads badly ("100% less"), so
    ``absolute`` (a clause with both figures) is used instead.
    """
    if not np.isfinite(r):
        return None
    if r >= 1.15:
        return f"{verb} {r:.1f}x {more} the average {who}"
    if r <= 0.5:
        return absolute
    if r <= 0.87:
        return f"{verb} {(1 - r) * 100:.0f}% {less} than the average {who}"
    return None


def _phrase(key: str, profile: dict, base: dict) -> str | None:
    """One clause with a figure for dimension ``key``, or None if unremarkable."""
    v, b, z = _val(profile, key), _ref_val(profile, base, key), _z(profile, key)
    if v is None or b is None or abs(z) < 0.25:
        return None
    r = v / b if b else float("inf")
    who = "buyer" if _is_buyer_segment(profile) else "customer"
    vs = f"(vs {b:.1f} for the average {who})"
    if key == "frequency":
        return _ratio_phrase(
            "order", r, "as often as", "less often", who, f"order {v:.1f} times a year {vs}"
        )
    if key == "spend":
        return _ratio_phrase(
            "spend", r, "as much as", "less", who, f"spend {v:.0f} a year (vs {b:.0f})"
        )
    if key == "basket":
        return _ratio_phrase(
            "spend", r, "as much per order as", "less per order", who,
            f"spend {v:.0f} per order (vs {b:.0f})",
        )  # fmt: skip
    if key == "engagement":
        return _ratio_phrase(
            "visit", r, "as often as", "less often", who,
            f"visit the shop {v:.1f} times a month {vs}",
        )  # fmt: skip
    if key == "recency":
        return f"last ordered {v:.0f} days ago on average (vs {b:.0f} for all buyers)"
    if key == "no_order":
        if v >= 0.5:
            return f"{v:.0%} have not ordered in the past year (vs {b:.0%} of all customers)"
        return f"{1 - v:.0%} ordered in the past year (vs {1 - b:.0%} of all customers)"
    if key == "discount":
        if z < 0:
            return f"rarely use discounts ({v:.0%} of orders vs {b:.0%} on average)"
        return f"use a discount on {v:.0%} of orders (vs {b:.0%} on average)"
    if key == "email_open":
        return f"open {v:.0%} of marketing emails (vs {b:.0%} for the average {who})"
    if key == "email_unreachable":
        if v <= 0.01:
            return f"all can be reached by email (vs {b:.0%} unreachable among {who}s)"
        return f"{v:.0%} cannot be reached by email (vs {b:.0%} of {who}s)"
    if key == "tenure":
        return f"joined {v:.0f} days ago on average (vs {b:.0f})"
    if key.startswith("category:"):
        if z < 0:
            return None  # "spends little on X" rarely tells a marketer anything
        return f"put {v:.0%} of their spend into {_category_label(key)} (vs {b:.0%} on average)"
    return None


# Dimensions that only restate "no order" for a mostly non-buying segment.
_ORDER_DIMENSIONS = ("frequency", "spend", "recency", "discount", "basket")


def describe(name: str, drivers: list[str], profile: dict, base: dict, n_clauses: int = 3) -> str:
    """One sentence: name, then the strongest differences with figures."""
    keys = list(drivers)
    mostly_non_buyers = (_val(profile, "no_order") or 0.0) >= 0.5
    ranked = sorted(profile["dimensions"], key=lambda k: (-abs(_z(profile, k)), k))
    keys += [k for k in ranked if k not in keys]
    clauses = []
    for k in keys:
        if mostly_non_buyers and (k in _ORDER_DIMENSIONS or k.startswith("category:")):
            continue
        p = _phrase(k, profile, base)
        if p and p not in clauses:
            clauses.append(p)
        if len(clauses) == n_clauses:
            break
    if not clauses:
        share = profile.get("share", 0.0)
        return (
            f"{name}: close to the average customer on every behaviour ({share:.0%} of customers)."
        )
    body = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + ", and " + clauses[-1]
    return f"{name}: {body}."


def name_segments(
    profiles: list[dict], base: dict, fixed_names: dict[int, str] | None = None
) -> list[tuple[str, str]]:
    """Distinct (name, description) for each profile.

    ``fixed_names`` maps profile index -> a name to keep (inherited from a
    previous model); the other segments are named so as not to collide
    with them.
    """
    fixed_names = fixed_names or {}
    names, drivers = [], []
    for i, p in enumerate(profiles):
        n, d = base_name(p)
        names.append(fixed_names.get(i, n))
        drivers.append(d)
    names = _distinguish(names, profiles, set(fixed_names))
    return [(n, describe(n, d, p, base)) for n, d, p in zip(names, drivers, profiles, strict=True)]
