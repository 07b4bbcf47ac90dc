"""seqreward's tasks as a verifiers plugin, found by id: verifiers 0.4 resolves the taskset id
``seqreward-tasks`` (or a hub id ``owner/seqreward-tasks``) by importing the installed module
``seqreward_tasks`` and taking the one ``Taskset`` subclass it exports.

    import verifiers.v1 as vf
    env = vf.load_environment(vf.EnvConfig(taskset={"id": "seqreward-tasks", "size": 8}))

or ``vf-eval``-style runs with ``--env.taskset.id seqreward-tasks``. The taskset itself is
``agents.llm.verifiers_tasks.SeqrewardTaskset`` (needs the ``llm`` extra).
"""

from agents.llm.verifiers_tasks import SeqrewardTaskset

__all__ = ["SeqrewardTaskset"]
