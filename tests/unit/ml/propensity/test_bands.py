"""The propensity bands, defined once with the scores (propensity.scoring)."""

from __future__ import annotations

import numpy as np
import pytest

from segment_and_predict.ml.propensity.scoring import PROPENSITY_BANDS, propensity_band


def test_bands_cover_the_ten_deciles_once_in_order():
    deciles = [d for _, ds in PROPENSITY_BANDS for d in ds]
    assert deciles == list(range(1, 11))
    assert [name for name, _ in PROPENSITY_BANDS] == ["high", "medium", "low"]


def test_each_decile_gets_its_band_at_the_boundaries():
    bands = propensity_band(np.array([1, 2, 3, 5, 6, 10]))
    assert bands.tolist() == ["high", "high", "medium", "medium", "low", "low"]


def test_a_decile_outside_1_to_10_is_refused():
    with pytest.raises(ValueError, match="outside 1-10"):
        propensity_band(np.array([1, 11]))
