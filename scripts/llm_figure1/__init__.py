"""Figure 1 on the LLM stack (``python -m scripts.llm_figure1``): settings, jobs, analysis, plots and the run."""
