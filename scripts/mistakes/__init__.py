"""The mistakes experiment (``python -m scripts.mistakes``): settings, jobs, analysis, plots and the run."""
