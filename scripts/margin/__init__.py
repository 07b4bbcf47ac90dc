"""The margin experiment (``python -m scripts.margin``): settings, jobs, analysis, plots and the run."""
