"""The barrier experiment (``python -m scripts.barrier``): settings, jobs, analysis, plots and the run."""
