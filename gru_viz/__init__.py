"""gru-viz: train a GRU and a vanilla RNN side by side and record what their gates do."""

import torch

# Many browser sessions share one small server: one thread per process keeps each session's
# training from starving the others (and is as fast as more threads for these tiny matrices).
torch.set_num_threads(1)

__version__ = "0.1.0"
