"""agents: policy-gradient learners for the seqreward environments."""
