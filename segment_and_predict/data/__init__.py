"""The data: the raw-data contract, reading and checking an export's files, the
synthetic data generator and the real-data converters (CDNOW).

Nothing here imports the rest of the package: ``ml``, ``dbt`` and ``report`` read it."""
