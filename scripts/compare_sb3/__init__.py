"""The compare_sb3 experiment (``python -m scripts.compare_sb3``): settings, jobs, analysis, plots and the run."""
