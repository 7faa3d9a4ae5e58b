"""``gaai``: the command line. Every failure is a message and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path

from gaai.agents.lib.llm_config import llm_from_env
from gaai.bus.codec import decode_custom_vertical, industry_choices, industry_name
from gaai.bus.contract import AGENT_NAMES, WorkflowProgress
from gaai.bus.domain import EdgeSemantics, RequirementCoverage
from gaai.bus.errors import GaaiError
from gaai.bus.settings import Settings
from gaai.bus.trace import export_trace, format_summary, plural, summarize
from gaai.store import EmbeddedStore, GraphExistsError, default_home
from gaai.store._errors import is_valid_name
from gaai.store.sample import ensure_sample_graph
from gaai.telemetry.logging import setup_logging
from graph_analytics_ai.progress import ProgressPrinter
from graph_analytics_ai.session import RunResult, load_state, run_workflow, write_outputs
from graph_analytics_ai.stack import LocalStack, process_argv

DEMO_GRAPH = "ecommerce"
DEFAULT_EXECUTIONS = 5
"""``gaai run``'s budget of analysis templates, the seed's default."""
DEMO_EXECUTIONS = 7
"""The demo's budget: what its bundled requirements call for, so every analytic requirement is answered."""


def _home() -> Path:
    return default_home()


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _print_outcome(result: RunResult, folder: Path) -> None:
    progress = result.progress
    _out()
    _out(f"Workflow {progress.workflow_id}: {progress.status}, {plural(len(progress.reports), 'report')}")
    for report in progress.reports:
        _out(f"  - {report.title} ({report.template_id})")
    for failure in progress.failures:
        _out(f"  ! {failure}")
    for warning in schema_warnings(result):
        _out(f"  ! {warning}")
    _print_unanswered(progress)
    _out(f"Output: {folder}")
    _out()
    _out(format_summary(summarize(progress)))


def schema_warnings(result: RunResult) -> list[str]:
    """The schema analysis' doubts about how the analysed edge collections were read, once each, from the reports."""
    warnings: dict[str, None] = {}
    for report in result.reports:
        data = report.files.get("json")
        body = json.loads(data) if data else {}
        warnings.update(dict.fromkeys(body.get("report", {}).get("warnings", [])))
    return list(warnings)


def _print_unanswered(progress: WorkflowProgress) -> None:
    """The graph questions this graph cannot answer, then each requirement's coverage."""
    for question in progress.unanswered:
        _out(
            f"  ? not answerable on this graph: {question.algorithm}, "
            f"asked by {', '.join(question.requirement_ids)}: {question.reason}"
        )
    if progress.coverage:
        answered = sum(1 for item in progress.coverage if item.status == "answered")
        _out(f"  Requirements: {answered} of {len(progress.coverage)} answered by a report, the others explained")
        for line in coverage_lines(progress.coverage):
            _out(f"    {line}")


def coverage_lines(coverage: list[RequirementCoverage]) -> list[str]:
    """One line per requirement or objective: id, status, then its templates or the reason it has none."""
    width = max((len(item.requirement_id) for item in coverage), default=0)
    return [f"{item.requirement_id:{width}}  {item.status:14}  {item.reason}" for item in coverage]


def _run(args: argparse.Namespace, graph: str, documents: list) -> int:
    printer = ProgressPrinter()
    result = asyncio.run(
        run_workflow(
            graph_name=graph,
            documents=documents,
            home=_home(),
            nats_url=getattr(args, "nats_url", None) or os.environ.get("NATS_URL") or None,
            documents_root=Path(args.docs_root) if getattr(args, "docs_root", None) else None,
            on_event=printer,
            on_start=lambda wf: _out(f"Submitted workflow {wf} on graph {graph!r}"),
            announce=_err,
            max_executions=args.max_executions,
            enable_parallelism=not args.sequential,
            max_concurrency=args.max_concurrency,
            industry=getattr(args, "industry", "auto"),
            custom_vertical=getattr(args, "custom_vertical", None),
            edge_semantics=getattr(args, "edge_semantics", []),
        )
    )
    folder = write_outputs(result, Path(args.output))
    _print_outcome(result, folder)
    return 0 if result.progress.status == "completed" else 1


def cmd_demo(args: argparse.Namespace) -> int:
    store = EmbeddedStore(_home())
    if not store.has_graph(DEMO_GRAPH):
        _out(f"Importing the bundled sample graph {DEMO_GRAPH!r} into {store.home} ...")
    info = ensure_sample_graph(store, DEMO_GRAPH)
    _out(
        f"Graph {DEMO_GRAPH!r}: {sum(info.vertex_collections.values()):,} vertices, "
        f"{sum(info.edge_collections.values()):,} edges"
    )
    document = resources.files("graph_analytics_ai") / "data" / "requirements_ecommerce.md"
    documents = [{"content": document.read_text(), "name": "requirements_ecommerce.md"}]
    if args.web:
        return _demo_with_dashboard(args, documents)
    return _run(args, DEMO_GRAPH, documents)


def _demo_with_dashboard(args: argparse.Namespace, documents: list) -> int:
    """The demo on a stack with the web gateway, kept up after the run until Ctrl-C so its reports can be read."""
    llm_from_env()
    stack = LocalStack(home=_home(), nats_url=os.environ.get("NATS_URL") or None, web_port=args.web_port, announce=_err)
    args.nats_url = stack.start()
    try:
        url = _wait_for_dashboard(stack, args.web_port)
        _out(f"Dashboard: {url} (the workflow shows there live)")
        code = _run(args, DEMO_GRAPH, documents)
        _out(f"The dashboard stays at {url}; press Ctrl-C to stop.")
        _wait_for_signal()
    finally:
        _out("Stopping ...")
        stack.stop()
    return code


def _wait_for_dashboard(stack: LocalStack, port: int, timeout: float = 30.0) -> str:
    """The dashboard's URL once the web gateway answers there."""
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return url
        except OSError:
            if time.monotonic() > deadline:
                log = stack.home / "logs" / "web.log"
                lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
                raise GaaiError(
                    "bad_setting",
                    f"the web gateway did not answer at {url} within {timeout:.0f} s: "
                    f"{lines[-1] if lines else 'no log'} (see {log})",
                ) from None
            time.sleep(0.2)


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stopped = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()

    asyncio.run(wait())


def cmd_run(args: argparse.Namespace) -> int:
    documents: list = [{"path": p} for p in args.docs] + [{"content": t} for t in args.text]
    flags = _semantics_flags(args.undirected, args.weight)
    if flags:
        # For this run, the named collections are read as the flags say, the rest as declared.
        info = EmbeddedStore(_home()).graph(args.graph)
        declared = {name: info.semantics(name) for name in flags.collections}
        args.edge_semantics = [
            EdgeSemantics(
                collection=name,
                directed=declared[name].directed and name not in flags.undirected,
                weight_field=flags.weights.get(name, declared[name].weight_field),
            )
            for name in flags.collections
        ]
    return _run(args, args.graph, documents)


class _SemanticsFlags:
    """The ``--undirected`` and ``--weight`` flags of one command, checked."""

    def __init__(self, undirected: list[str], weights: dict[str, str]) -> None:
        self.undirected = undirected
        self.weights = weights
        self.collections = list(dict.fromkeys([*undirected, *weights]))

    def __bool__(self) -> bool:
        return bool(self.collections)

    def declaration(self) -> list[EdgeSemantics]:
        """One entry per named collection, as an import with these flags declares it."""
        return [
            EdgeSemantics(collection=name, directed=name not in self.undirected, weight_field=self.weights.get(name))
            for name in self.collections
        ]


def _semantics_flags(undirected: list[str], weights: list[str]) -> _SemanticsFlags:
    for name in undirected:
        if not is_valid_name(name):
            raise GaaiError("bad_argument", f"--undirected takes an edge collection name, got {name!r}")
    fields: dict[str, str] = {}
    for item in weights:
        name, _, weight_field = item.partition("=")
        if not is_valid_name(name) or not weight_field or len(weight_field) > 128:
            raise GaaiError("bad_argument", f"--weight takes EDGE_COLLECTION=FIELD, got {item!r}")
        if name in fields and fields[name] != weight_field:
            raise GaaiError(
                "bad_argument", f"--weight names two fields for {name!r}: {fields[name]!r} and {weight_field!r}"
            )
        fields[name] = weight_field
    return _SemanticsFlags(list(dict.fromkeys(undirected)), fields)


def cmd_import(args: argparse.Namespace) -> int:
    store = EmbeddedStore(_home())
    flags = _semantics_flags(args.undirected, args.weight)
    if not args.paths:
        if not flags or args.replace:
            raise GaaiError(
                "bad_argument",
                "give the files to import, or only --undirected/--weight to re-declare how an imported graph's "
                "edges are read",
            )
        # Re-declared as a fresh import with these flags would be: edge collections not named are directed, unweighted.
        current = store.graph(args.graph)
        named = {entry.collection for entry in flags.declaration()}
        defaults = [EdgeSemantics(collection=name) for name in current.edge_collections if name not in named]
        info = store.set_semantics(args.graph, [*defaults, *flags.declaration()])
        _out(f"Graph {info.name!r} now reads its edge collections as:")
        _print_collections(info)
        _print_semantics_warnings(store, info.name)
        return 0
    try:
        paths = [Path(p) for p in args.paths]
        info = store.import_graph(args.graph, paths, replace=args.replace, semantics=flags.declaration())
    except GraphExistsError as exc:
        raise GaaiError(
            exc.code,
            f"Graph {args.graph!r} already exists; pass --replace to overwrite it "
            "(or give only --undirected/--weight to re-declare how its edges are read).",
        ) from None
    _out(f"Imported graph {info.name!r}:")
    _print_collections(info)
    _print_semantics_warnings(store, info.name)
    return 0


def _print_semantics_warnings(store: EmbeddedStore, graph: str) -> None:
    """What schema analysis finds doubtful in how the edge collections are read, right when they are declared."""
    from gaai.agents.schema.analysis import analyze_schema

    for warning in analyze_schema(store, graph).warnings:
        _out(f"  warning: {warning}")


def _print_collections(info) -> None:
    for name, count in info.vertex_collections.items():
        _out(f"  vertex {name:24} {count:>10,}")
    for name, count in info.edge_collections.items():
        semantics = info.semantics(name)
        weight = f", weight: {semantics.weight_field}" if semantics.weight_field else ""
        _out(f"  edge   {name:24} {count:>10,}  {'directed' if semantics.directed else 'undirected'}{weight}")


def cmd_graphs(args: argparse.Namespace) -> int:
    store = EmbeddedStore(_home())
    graphs = store.list_graphs()
    if not graphs:
        _out(f"No graphs in {store.home}. Import one with 'gaai import NAME FILES...' or run 'gaai demo'.")
    for info in graphs:
        _out(
            f"{info.name}  (imported {time.strftime('%Y-%m-%d %H:%M', time.localtime(info.created_at))}, "
            f"version {info.version})"
        )
        _print_collections(info)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    scale = {}
    for item in args.scale:
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise GaaiError("bad_argument", f"--scale takes AGENT=N with N >= 1, got {item!r}")
        scale[name] = int(count)
    # Agents given a bad LLM setting would exit and be restarted forever: refuse it here.
    llm_from_env()
    web_port = None if args.no_web else args.web_port
    stack = LocalStack(
        home=_home(), nats_url=os.environ.get("NATS_URL") or None, scale=scale, announce=_err, web_port=web_port
    )
    url = stack.start()
    _out(f"gaai is up on {url} (home {stack.home}); logs in {stack.home / 'logs'}")
    for managed in stack.processes:
        _out(f"  {managed.name:16} pid {managed.pid}")
    if web_port is not None:
        _out(f"Dashboard: http://127.0.0.1:{web_port}/")
    _out("Press Ctrl-C to stop.")
    try:
        _wait_for_signal()
    finally:
        _out("Stopping ...")
        stack.stop()
    _out("Stopped.")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    if args.name not in AGENT_NAMES:
        raise GaaiError("unknown_agent", f"unknown agent {args.name!r}; agents: {', '.join(AGENT_NAMES)}")
    os.execv(sys.executable, process_argv(args.name))
    return 0


def cmd_orchestrator(args: argparse.Namespace) -> int:
    os.execv(sys.executable, process_argv("orchestrator"))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    options = [
        *(["--host", args.host] if args.host else []),
        *(["--port", str(args.port)] if args.port is not None else []),
    ]
    os.execv(sys.executable, [*process_argv("web"), *options])
    return 0


def _progress_of(workflow_id: str) -> WorkflowProgress:
    """From the running system when ``NATS_URL`` is set, else the state saved after the run."""
    if os.environ.get("NATS_URL"):
        return _with_client("status", lambda client: client.status(workflow_id))
    return load_state(_home(), workflow_id)


def cmd_status(args: argparse.Namespace) -> int:
    progress = _progress_of(args.workflow_id)
    _out(f"Workflow {progress.workflow_id} on {progress.graph_name!r}: {progress.status}")
    for task in progress.tasks:
        took = f" {1000 * (task.ended_at - task.started_at):.0f}ms" if task.started_at and task.ended_at else ""
        where = f" by {task.instance.agent}@{task.instance.host}:{task.instance.pid}" if task.instance else ""
        _out(f"  {task.status:10} {task.label}{took}{where}")
    for report in progress.reports:
        _out(f"  report: {report.title} -> {', '.join(a.object_name for a in report.artifacts)}")
    for failure in progress.failures:
        _out(f"  ! {failure}")
    _print_unanswered(progress)
    return 0


def _with_client(what: str, action):
    """Run ``action(client)`` against the running system named by ``NATS_URL``."""
    if not os.environ.get("NATS_URL"):
        raise GaaiError(
            "no_nats_url", f"{what} talks to a running system: set NATS_URL (e.g. the URL printed by 'gaai up')"
        )
    from gaai.bus.connection import connected
    from graph_analytics_ai.client import WorkflowClient

    async def run():
        settings = Settings.from_env()
        async with connected(settings, name="gaai-cli") as bus:
            return await action(WorkflowClient(bus, timeout=settings.request_timeout_s))

    return asyncio.run(run())


def cmd_cancel(args: argparse.Namespace) -> int:
    progress = _with_client("cancel", lambda client: client.cancel(args.workflow_id, args.reason))
    _out(f"Workflow {progress.workflow_id}: {progress.status}")
    return 0


def cmd_dlq_list(args: argparse.Namespace) -> int:
    letters = _with_client("dlq", lambda client: client.dead_letters())
    if not letters:
        _out("The dead-letter stream is empty.")
    for letter_id, letter in letters:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(letter.at))
        deliveries = plural(letter.deliveries, "delivery", "deliveries")
        attempt = f"attempt {letter.task.attempt}, {deliveries}"
        _out(f"{letter_id:>6}  {when}  {letter.agent:12} {letter.task.task_id}  {attempt}")
        _out(f"        {letter.error.message} [{letter.error.code}]")
    return 0


def cmd_dlq_retry(args: argparse.Namespace) -> int:
    progress = _with_client("dlq", lambda client: client.retry_dead_letter(args.letter_id))
    _out(f"Retrying; workflow {progress.workflow_id} is {progress.status}")
    return 0


def cmd_trace_summary(args: argparse.Namespace) -> int:
    _out(format_summary(summarize(_progress_of(args.workflow_id))))
    return 0


def cmd_trace_export(args: argparse.Namespace) -> int:
    for path in export_trace(
        _progress_of(args.workflow_id), Path(args.output), args.format or ["json", "html", "markdown"]
    ):
        _out(str(path))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from gaai.eval.suite import run_cli

    cases = [name.strip() for name in args.cases.split(",") if name.strip()] if args.cases else None
    return run_cli(cases, Path(args.json) if args.json else None, args.llm)


def cmd_catalog_lineage(args: argparse.Namespace) -> int:
    from gaai.agents.catalog import Catalog, catalog_path

    catalog = Catalog(catalog_path(_home()))
    if not catalog.has_workflow(args.workflow_id):
        raise GaaiError("unknown_workflow", f"the catalog has no workflow {args.workflow_id!r}")
    chains = catalog.lineage(args.workflow_id)
    coverage = catalog.coverage(args.workflow_id)
    for chain in chains:
        _out(" -> ".join(f"{entity} ({title[:60]})" if title else entity for entity, title in chain))
    if coverage:
        _out("Coverage (requirement, status, templates or the reason for none):")
        for line in coverage_lines(coverage):
            _out(f"  {line}")
    if not chains and not coverage:
        recorded = ", ".join(f"{count} {kind}" for kind, count in sorted(catalog.counts(args.workflow_id).items()))
        _out(
            f"No lineage for workflow {args.workflow_id}: the catalog holds no requirement or objective of it "
            f"(recorded: {recorded or 'nothing yet'}); its documents stated none that could be extracted, or the "
            "requirements step has not finished."
        )
    return 0


def _check_vertical_options(args: argparse.Namespace) -> None:
    """``--industry`` and ``--industry-file`` checked before anything starts; the file's vertical kept in ``args``."""
    if not hasattr(args, "industry"):
        return
    industry_name(args.industry)
    args.custom_vertical = None
    if args.industry_file is None:
        return
    if industry_name(args.industry) != "auto":
        raise GaaiError("bad_argument", "give --industry or --industry-file, not both")
    path = Path(args.industry_file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GaaiError("bad_vertical", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except UnicodeDecodeError:
        raise GaaiError("bad_vertical", f"{path} is not UTF-8 text") from None
    try:
        decode_custom_vertical(data)
    except GaaiError as exc:
        raise GaaiError(exc.code, f"{path}: {exc.message}") from None
    args.custom_vertical = data


def _workflow_options(parser: argparse.ArgumentParser, executions: int) -> None:
    parser.add_argument("--output", default="gaai-output", help="folder for reports and state (default ./gaai-output)")
    parser.add_argument(
        "--max-executions",
        type=int,
        default=executions,
        help=f"how many analysis templates to execute (default {executions})",
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=None, help="how many executions may run at once (default: all)"
    )
    parser.add_argument("--sequential", action="store_true", help="run one task at a time (debugging, baseline)")
    parser.add_argument(
        "--industry",
        default="auto",
        metavar="NAME",
        help=f"industry vertical: {industry_choices()}; default auto (chosen from the documents and the graph, "
        "generic when the evidence is weak)",
    )
    parser.add_argument(
        "--industry-file",
        default=None,
        metavar="PATH",
        help="a custom vertical as JSON (the format of agents/vertical/profiles/*.json), checked before the run starts",
    )


def _semantics_options(parser: argparse.ArgumentParser, scope: str) -> None:
    parser.add_argument(
        "--undirected", action="append", default=[], metavar="EDGE_COLLECTION",
        help=f"read this edge collection's edges as ties both ways (repeatable; {scope})",
    )  # fmt: skip
    parser.add_argument(
        "--weight", action="append", default=[], metavar="EDGE_COLLECTION=FIELD",
        help="weigh this edge collection's edges by a numeric field (repeatable)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gaai", description="Graph analytics AI: requirement documents + a graph -> analytics reports."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole workflow on the bundled e-commerce graph")
    _workflow_options(demo, executions=DEMO_EXECUTIONS)
    demo.add_argument(
        "--web", action="store_true", help="also start the dashboard and keep it up after the run (Ctrl-C stops)"
    )
    demo.add_argument("--web-port", type=int, default=8765, help="the dashboard's port on 127.0.0.1 (default 8765)")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run the workflow on an imported graph")
    run.add_argument("--graph", required=True)
    run.add_argument(
        "--docs", nargs="*", default=[], metavar="FILE", help=".md .txt .pdf .docx .html requirement documents"
    )
    run.add_argument("--text", action="append", default=[], help="inline requirement text (repeatable)")
    run.add_argument(
        "--docs-root", default=None, help="documents must lie under this folder (default: the current folder)"
    )
    _semantics_options(run, "for this run only; other edge collections are read as declared at import")
    _workflow_options(run, executions=DEFAULT_EXECUTIONS)
    run.set_defaults(func=cmd_run)

    imp = sub.add_parser("import", help="import a graph from ArangoDB-export JSONL files or CSV edge lists")
    imp.add_argument("graph")
    imp.add_argument("paths", nargs="*", help="files or folders; none = only re-declare --undirected/--weight")
    imp.add_argument("--replace", action="store_true", help="replace a graph of the same name")
    _semantics_options(imp, "edge collections not named are directed and unweighted")
    imp.set_defaults(func=cmd_import)

    sub.add_parser("graphs", help="list imported graphs").set_defaults(func=cmd_graphs)

    up = sub.add_parser("up", help="start nats-server (unless NATS_URL), the orchestrator and the agents; Ctrl-C stops")
    up.add_argument("--scale", action="append", default=[], metavar="AGENT=N", help="run N replicas of an agent")
    up.add_argument("--web-port", type=int, default=8765, help="the dashboard's port on 127.0.0.1 (default 8765)")
    up.add_argument("--no-web", action="store_true", help="do not start the web gateway and dashboard")
    up.set_defaults(func=cmd_up)

    agent = sub.add_parser("agent", help="run one agent process against NATS_URL")
    agent.add_argument("name", help=", ".join(AGENT_NAMES))
    agent.set_defaults(func=cmd_agent)

    sub.add_parser("orchestrator", help="run the orchestrator against NATS_URL").set_defaults(func=cmd_orchestrator)

    web = sub.add_parser("web", help="run the web gateway and dashboard against NATS_URL")
    web.add_argument(
        "--host", default=None, help="address to listen on (default 127.0.0.1; others need GAAI_WEB_TOKEN)"
    )
    web.add_argument("--port", type=int, default=None, help="port (default 8765)")
    web.set_defaults(func=cmd_web)

    status = sub.add_parser("status", help="show a workflow's tasks and reports")
    status.add_argument("workflow_id")
    status.set_defaults(func=cmd_status)

    cancel = sub.add_parser("cancel", help="stop a running workflow (needs NATS_URL)")
    cancel.add_argument("workflow_id")
    cancel.add_argument("--reason", default="cancelled from the command line")
    cancel.set_defaults(func=cmd_cancel)

    dlq = sub.add_parser(
        "dlq", help="the dead-letter stream of tasks that failed for good (needs NATS_URL)"
    ).add_subparsers(dest="dlq_command", required=True)
    dlq.add_parser("list", help="list parked tasks with their errors").set_defaults(func=cmd_dlq_list)
    dlq_retry = dlq.add_parser("retry", help="run a parked task again; its workflow re-opens")
    dlq_retry.add_argument("letter_id", type=int)
    dlq_retry.set_defaults(func=cmd_dlq_retry)

    trace = sub.add_parser("trace", help="trace of a workflow").add_subparsers(dest="trace_command", required=True)
    summary = trace.add_parser("summary", help="print the trace summary")
    summary.add_argument("workflow_id")
    summary.set_defaults(func=cmd_trace_summary)
    export = trace.add_parser(
        "export", help="write the trace as JSON, a self-contained HTML timeline and/or Markdown tables"
    )
    export.add_argument("workflow_id")
    export.add_argument(
        "--format", action="append", choices=["json", "html", "markdown"], help="repeatable; default all three"
    )
    export.add_argument("--output", default=".", help="folder to write into (default: the current folder)")
    export.set_defaults(func=cmd_trace_export)

    # Listed for --help; its own options are parsed by the bench package (see main).
    sub.add_parser(
        "bench", help="the benchmark suite: gaai bench [--quick] [--json PATH] (see docs/BENCHMARKS.md)", add_help=False
    )

    evaluation = sub.add_parser("eval", help="the evaluation suite: known answers, scored (see docs/EVALUATION.md)")
    evaluation.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    evaluation.add_argument("--cases", metavar="A,B", help="run only these cases, comma-separated (default: all)")
    evaluation.add_argument(
        "--llm",
        choices=("offline", "openai", "anthropic"),
        default="offline",
        help="the model the agents ask (default offline); an HTTP one is configured by GAAI_LLM_*",
    )
    evaluation.set_defaults(func=cmd_eval)

    catalog = sub.add_parser("catalog", help="the analytics catalog").add_subparsers(
        dest="catalog_command", required=True
    )
    lineage = catalog.add_parser("lineage", help="print each requirement's chain down to its reports")
    lineage.add_argument("workflow_id")
    lineage.set_defaults(func=cmd_catalog_lineage)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from gaai.bench.__main__ import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    # A command's output is its stdout; the bus's own log lines (e.g. one per failed connect
    # attempt) stay out of it, and only errors reach stderr next to the command's own message.
    # Commands that run a process (agent, orchestrator) set their own logging when they start.
    setup_logging("gaai-cli", level="ERROR")
    try:
        _check_vertical_options(args)
        return args.func(args)
    except GaaiError as exc:
        _err(f"gaai: {exc.message} [{exc.code}]")
        return 2
    except KeyboardInterrupt:
        _err("gaai: interrupted")
        return 130
    except OSError as exc:
        _err(f"gaai: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return 2


if __name__ == "__main__":
    sys.exit(main())
