"""The paper's Figure 1 (``python -m scripts.figure1``): settings, jobs, analysis, plots and the run."""
