"""What acts: the linear autoregressive policy (closed-form scores) and the network policies, sampling
responses (``rollout``) and exact evaluation against the task's teacher."""
