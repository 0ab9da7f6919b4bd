"""The glue around dbt: finding the project, running a build on a working copy
(``jobs``), the checks before dbt starts (``preflight``), the DuckDB plugin the
profile loads (``plugin``), the BI snapshot (``publish``), and the end-of-run
summary and failed-test sentences.

Imports only :mod:`segment_and_predict.data` (never ``ml``: a model is trained inside
dbt, through ``python_models/``)."""
