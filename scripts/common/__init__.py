"""What several experiments share, below every experiment: the settings blocks their configs are composed
of, the runs of the theory's query experiments and their plot pieces."""
