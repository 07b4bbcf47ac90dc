"""The lq experiment (``python -m scripts.lq``): settings, jobs, analysis, plots and the run."""
