"""Analysis of what runs wrote: statistics and intervals, tables, the theory's predictions against the
measurements, the collapse guard, and the paper's own task draws. Nothing here trains or reruns."""
