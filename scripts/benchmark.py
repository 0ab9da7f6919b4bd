"""The pipeline's benchmark: `python scripts/benchmark.py --help` (docs/performance.md).

The code is segment_and_predict.benchmark, importable (and tested) like the rest
of the package; this file keeps the documented command.
"""

import sys

from segment_and_predict.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
