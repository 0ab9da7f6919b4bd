"""segment-and-predict: customer segments and purchase propensity for e-commerce.

The package holds what the dbt project imports: the raw-data contract, the
synthetic data generator, and the model code (segmenter and propensity model)
that the thin dbt Python models in ``python_models/`` call.
"""

__version__ = "0.1.0"
