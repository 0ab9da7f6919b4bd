"""Test-only fault injection for tests/{unit,integration}/test_hostile_runs.py.

Put this folder on PYTHONPATH and set SAP_TEST_FAULT to the name of a function
of segment_and_predict.ml.propensity (e.g. train_propensity_model): every Python
process started with that environment, dbt's included, replaces it with one
that raises, as a crash in training or scoring would. Not on any path by default.
"""

import os

_FAULT = os.environ.get("SAP_TEST_FAULT")
if _FAULT:
    import segment_and_predict.ml.propensity as _propensity

    def _crash(*args, **kwargs):
        raise RuntimeError(f"injected test fault in {_FAULT}")

    setattr(_propensity, _FAULT, _crash)
