"""``python -m gru_viz``: see gru_viz.cli."""

import sys

from gru_viz.cli import main

sys.exit(main())
