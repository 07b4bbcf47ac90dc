"""The adaptive_step experiment (``python -m scripts.adaptive_step``): settings, jobs, analysis, plots and the run."""
