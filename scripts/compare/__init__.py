"""The compare experiment (``python -m scripts.compare``): settings, jobs, analysis, plots and the run."""
