"""gru-viz dashboard: a GRU and a vanilla RNN learn the same task, live, side by side.

Run: streamlit run app.py. The page lives in ``gru_viz.dashboard`` (the only streamlit code); the
library under it (models, training, figures, lessons) runs headless.
"""

from gru_viz.dashboard import boot

# The title and a placeholder first: the next import loads torch (about 2 s on a new server).
BOOT_SLOT = boot.start()

from gru_viz.dashboard.page import main  # noqa: E402

main(BOOT_SLOT)
