"""The models: propensity (LightGBM, baselines, reasons), segmentation (KMeans), the
label's name, the registries, what the scoring models serve, drift and monitoring.

Imports only :mod:`segment_and_predict.data`; the dbt Python models are thin calls into
it (``python_models/``)."""
