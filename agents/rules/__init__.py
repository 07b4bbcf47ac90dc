"""How it learns: small pure tensor functions, one module per family (advantages and baselines,
surrogate weights, the adaptive step, the SNR learning rate, Algorithm 1/2's number of tries m).
Each function's docstring gives its formula, its paper and its shapes."""
