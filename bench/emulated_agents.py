"""Emulated agents: minimal valid results after a configured delay, served over the real bus.

``python -m gaai.bench.emulated_agents AGENT [AGENT...]`` serves the given agent kinds in one
process with ``bus.worker.serve`` — the same pull consumers, acks, events and result
publishing as the real agents — but the handler only sleeps (``asyncio.sleep``: the
emulated work is I/O-bound, like waiting for an LLM or a database) and returns the
smallest result of the right type. With every delay at zero it is a no-op agent.

Delays come from the ``GAAI_BENCH_PROFILE`` environment variable (a JSON ``Profile``).
Per-template delays are drawn by ``template_delays`` when the emulated templates agent
builds the templates, and travel inside each template's ``params``, so the execution and
reporting agents (and the benchmark computing the critical-path bound) read the very
same numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os

import msgspec
import numpy as np

from gaai.bus import contract, domain
from gaai.bus.connection import Bus
from gaai.bus.process import process_settings, run_process
from gaai.bus.settings import Settings
from gaai.bus.worker import Job, serve, this_instance

PROFILE_ENV = "GAAI_BENCH_PROFILE"
EXECUTION_PARAM = "emulated_execution_ms"
REPORT_PARAM = "emulated_report_ms"


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """Emulated task latencies in milliseconds.

    Attributes:
        fixed_ms: delay of each single-instance task by agent kind (vertical, schema,
            requirements, use_cases, templates); missing kinds take zero.
        execution_mean_ms: mean delay of one template execution.
        report_mean_ms: mean delay of one report.
        spread: sigma of the log-normal the per-template delays are drawn from
            (0 gives every template the mean).
        seed: seed of that draw; the draw for ``n`` templates depends on ``(seed, n)`` only.
    """

    fixed_ms: dict[str, float] = {}
    execution_mean_ms: float = 0.0
    report_mean_ms: float = 0.0
    spread: float = 0.0
    seed: int = 7


NO_OP = Profile()

# The seed's sequential run (PARALLEL_EXECUTION_GUIDE.md) scaled by 1/100: 180 s in all,
# schema + requirements 40 s, 5 executions 75 s, 5 reports 35 s; the 30 s left are split
# evenly over the vertical, use-case and template steps.
SEED_SCALED = Profile(
    fixed_ms={"vertical": 100.0, "schema": 200.0, "requirements": 200.0, "use_cases": 100.0, "templates": 100.0},
    execution_mean_ms=150.0,
    report_mean_ms=70.0,
    spread=0.6,
)


def template_delays(profile: Profile, count: int) -> list[tuple[float, float]]:
    """The (execution, report) delays in ms of ``count`` templates, reproducible per count."""
    rng = np.random.default_rng([profile.seed, count])

    def draw(mean: float) -> np.ndarray:
        # A log-normal with this mean: exp(mu + sigma^2/2) = mean.
        if mean <= 0 or profile.spread <= 0:
            return np.full(count, max(mean, 0.0))
        return rng.lognormal(np.log(mean) - profile.spread**2 / 2, profile.spread, count)

    executions, reports = draw(profile.execution_mean_ms), draw(profile.report_mean_ms)
    return [(round(float(e), 3), round(float(r), 3)) for e, r in zip(executions, reports, strict=True)]


def empty_schema(graph_name: str) -> domain.GraphSchema:
    """The schema of a graph with nothing in it: what a no-op schema analysis returns."""
    return domain.GraphSchema(
        graph_name=graph_name,
        vertex_collections=[],
        edge_collections=[],
        edge_definitions=[],
        core_collections=[],
        satellite_collections=[],
        total_vertices=0,
        total_edges=0,
    )


def _results(profile: Profile):
    """One handler per agent kind: sleep the emulated delay, answer the minimal valid result."""
    vertical = domain.VerticalProfile(
        name="emulated", display_name="Emulated", description="emulated vertical", source="builtin"
    )

    def fixed(agent: str) -> float:
        return profile.fixed_ms.get(agent, 0.0) / 1000

    async def handle(agent: str, task: contract.Task, task_id: str) -> contract.TaskResult:
        if isinstance(task, contract.ExecutionTask):
            await _sleep(float(task.template.params.get(EXECUTION_PARAM) or 0.0) / 1000)
            template = task.template
            summary = domain.ExecutionSummary(
                execution_id=task_id,
                template_id=template.id,
                algorithm=template.algorithm,
                graph_name=task.graph_name,
                vertex_count=0,
                edge_count=0,
                result_ref="emulated",
                result_field="rank",
                engine="emulated",
            )
            return contract.ExecutionResult(summary=summary)
        if isinstance(task, contract.ReportTask):
            await _sleep(float(task.template.params.get(REPORT_PARAM) or 0.0) / 1000)
            report = domain.Report(
                report_id=f"report-{task.template.id}",
                template_id=task.template.id,
                execution_id=task.execution.execution_id,
                title=task.template.title,
                summary="emulated report",
                algorithm=task.template.algorithm,
            )
            return contract.ReportResult(report=report)
        await _sleep(fixed(agent))
        if isinstance(task, contract.VerticalTask):
            return contract.VerticalResult(vertical=vertical)
        if isinstance(task, contract.SchemaTask):
            return contract.SchemaResult(schema=empty_schema(task.graph_name))
        if isinstance(task, contract.RequirementsTask):
            return contract.RequirementsResult(requirements=domain.RequirementsDoc())
        if isinstance(task, contract.UseCasesTask):
            use_case = domain.UseCase(
                id="UC-1", title="Emulated", description="emulated use case", algorithm="pagerank", reason="emulated"
            )
            return contract.UseCasesResult(use_cases=[use_case])
        if isinstance(task, contract.TemplatesTask):
            templates = [
                domain.AnalysisTemplate(
                    id=f"T{i + 1:03d}",
                    use_case_id="UC-1",
                    title=f"Emulated template {i + 1}",
                    algorithm="pagerank",
                    vertex_collections=["vertices"],
                    edge_collections=["edges"],
                    params={EXECUTION_PARAM: execution_ms, REPORT_PARAM: report_ms},
                )
                for i, (execution_ms, report_ms) in enumerate(template_delays(profile, task.max_templates))
            ]
            return contract.TemplatesResult(templates=templates)
        raise ValueError(f"no emulated result for {type(task).__name__}")

    return handle


async def _sleep(seconds: float) -> None:
    # A zero delay must not even yield: the no-op agent measures the bus alone.
    if seconds > 0:
        await asyncio.sleep(seconds)


async def _serve(
    agents: list[str],
    profile: Profile,
    settings: Settings,
    instances: dict[str, contract.Instance],
    stop: asyncio.Event,
) -> None:
    handle = _results(profile)
    bus = await Bus.connect(settings, name=f"gaai-emulated-{'-'.join(agents)}")

    def handler_for(agent: str):
        async def handler(envelope: contract.TaskEnvelope, job: Job) -> contract.TaskResult:
            return await handle(agent, envelope.task, envelope.task_id)

        return handler

    try:
        await asyncio.gather(
            *(serve(bus, settings, agent, handler_for(agent), stop, instances[agent]) for agent in agents)
        )
    finally:
        await bus.close()


def main(argv: list[str] | None = None) -> None:
    """Serve the named agent kinds against ``NATS_URL`` until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m gaai.bench.emulated_agents", description=__doc__.splitlines()[0])
    parser.add_argument("agents", nargs="+", choices=contract.TASK_AGENTS)
    args = parser.parse_args(argv)
    raw = os.environ.get(PROFILE_ENV)
    profile = msgspec.json.decode(raw, type=Profile) if raw else NO_OP
    instances = {agent: this_instance(agent) for agent in args.agents}
    settings = process_settings(f"gaai-emulated-{'-'.join(args.agents)}")

    async def until(stop: asyncio.Event) -> None:
        await _serve(args.agents, profile, settings, instances, stop)

    # The process around the agents is the real agents' own, so logging, spans and the loop cost the same.
    run_process(f"gaai-emulated-{'-'.join(args.agents)}", instances[args.agents[0]].instance_id, until)


if __name__ == "__main__":
    main()
