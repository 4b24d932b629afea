"""gru-viz: train a GRU and a vanilla RNN side by side and record what their gates do.

The package imports torch only where it trains (``gru_viz.models`` and what builds on it), so the
dashboard can show its first page while torch (about 2 s) is still loading.
"""

__version__ = "0.1.0"
