"""The benchmark suite: ``python -m gaai.bench [--quick] [--json PATH]`` (and ``gaai bench``).

Every figure is measured in the run that prints it, on processes the suite starts
itself (a fresh nats-server, a temporary ``GAAI_HOME``) and stops before it returns:

- ``bench_bus``: one hop through JetStream to an agent in another process and back,
  a whole no-op workflow, and concurrent workflows per second;
- ``bench_schedules``: sequential, phased and pipelined makespans with emulated task
  latencies, next to the DAG's critical-path bound; execution replica scaling;
- ``bench_graph``: the execution path (load, compute, write) on generated graphs,
  next to a scipy SpMV lower bound for PageRank and networkx; peak RSS per edge.

Agents that stand in for the real ones are called *emulated* (``bench.emulated_agents``):
they return minimal valid results after a configured delay (zero for a no-op agent).
"""
