"""Figure 1 over many draws of the task (``python -m scripts.robustness``): settings, plots and the run."""
