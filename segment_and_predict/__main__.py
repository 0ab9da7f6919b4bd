"""``python -m segment_and_predict`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
