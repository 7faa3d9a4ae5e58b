"""The whole system as separate processes: nats-server, orchestrator, every agent."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import nats
import nats.errors
import pytest

from gaai.bus.contract import AGENT_NAMES, TASK_AGENTS
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.stack import LocalStack
from tests.processes import processes_in_session

GAAI = [sys.executable, "-m", "graph_analytics_ai.cli"]


def gaai(*args: str, env: dict, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*GAAI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli_env(home: Path) -> dict:
    env = dict(os.environ, GAAI_HOME=str(home))
    env.pop("NATS_URL", None)
    return env


def test_demo_runs_every_phase_in_separate_processes(cli_env, tmp_path):
    """`gaai demo` brings everything up, writes reports and state, and stops what it started."""
    result = gaai("demo", "--output", str(tmp_path / "out"), env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [folder] = list((tmp_path / "out").iterdir())
    state = json.loads((folder / "workflow.json").read_text())
    assert state["status"] == "completed"
    assert len(state["reports"]) == 7  # the demo's budget: every analytic requirement of its document answered
    assert {c["status"] for c in state["coverage"]} <= {"answered", "output_request", "not_analytic"}, state["coverage"]
    for report in state["reports"]:
        for extension in ("md", "json", "html"):
            body = (folder / f"{report['template_id']}.{extension}").read_text()
            assert (
                report["title"] in body
                if extension != "json"
                else json.loads(body)["report"]["title"] == report["title"]
            )
    by_agent = {}
    for task in state["tasks"]:
        assert task["status"] == "completed", task
        by_agent.setdefault(task["agent"], set()).add(task["instance"]["pid"])
    assert set(by_agent) == set(TASK_AGENTS)
    pids = [next(iter(p)) for p in by_agent.values()]
    assert len(set(pids)) == len(TASK_AGENTS), "each agent kind runs in its own process"
    assert "Workflow Trace Summary" in result.stdout and "Phase 4: executions" in result.stdout
    shown = [re.match(r"\[\s*[\d.]+s\] (.+?)  +(.+?)  +(\w+)", line) for line in result.stdout.splitlines()]
    order = [(m.group(2), m.group(3)) for m in shown if m and m.group(1).startswith("Phase")]
    for label, status in order:
        if status == "running":  # its label comes from the dispatch event, so that must come first
            assert (label, "dispatched") in order and order.index((label, "dispatched")) < order.index(
                (label, "running")
            ), label
    lineage = gaai("catalog", "lineage", state["workflow_id"], env=cli_env, cwd=tmp_path)
    assert lineage.returncode == 0, lineage.stderr
    assert any(line.startswith("requirement:") and "report:" in line for line in lineage.stdout.splitlines())
    llm_calls = sum(len(t["llm_calls"]) for t in state["tasks"])
    assert llm_calls >= 3 + len(state["reports"])  # vertical, requirements, use cases, one per report
    assert f"Total Calls: {llm_calls}" in result.stdout
    exported = gaai(
        "trace", "export", state["workflow_id"], "--output", str(tmp_path / "trace"), env=cli_env, cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    html = (tmp_path / "trace" / f"trace-{state['workflow_id']}.html").read_text()
    assert "http://" not in html and "https://" not in html and html.count("<tr>") == len(state["tasks"]) + 1
    trace_json = json.loads((tmp_path / "trace" / f"trace-{state['workflow_id']}.json").read_text())
    assert trace_json["summary"]["llm_calls"] == llm_calls
    leftovers = subprocess.run(["pgrep", "-f", f"GAAI_HOME={cli_env['GAAI_HOME']}"], capture_output=True)
    assert leftovers.stdout == b""


def test_cli_errors_are_messages_not_tracebacks(cli_env, tmp_path):
    """Unknown graphs and missing files give a one-line error and a non-zero exit."""
    unknown = gaai("run", "--graph", "nope", env=cli_env, cwd=tmp_path)
    assert unknown.returncode == 2 and "nope" in unknown.stderr and "Traceback" not in unknown.stderr
    outside = gaai("run", "--graph", "nope", "--docs", "/etc/passwd", env=cli_env, cwd=tmp_path)
    assert outside.returncode == 2 and "Traceback" not in outside.stderr
    bad_import = gaai("import", "g", str(tmp_path / "missing.jsonl"), env=cli_env, cwd=tmp_path)
    assert bad_import.returncode == 2 and "Traceback" not in bad_import.stderr


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            {"GAAI_LLM_PROVIDER": "openai", "GAAI_LLM_API_KEY": "k"},
            "gaai: GAAI_LLM_MODEL is not set: the openai provider needs the name of the model to ask [bad_setting]",
        ),
        (
            {"GAAI_LLM_PRICES": "prices.json"},
            "gaai: GAAI_LLM_PRICES=prices.json: Expected `object`, got `array` [bad_price_table]",
        ),
    ],
    ids=["no model", "bad price table"],
)
def test_up_refuses_bad_llm_settings_before_starting_anything(cli_env, home, tmp_path, setting, message):
    """`gaai up` with a bad LLM setting: exit 2 with one line, and no nats-server, orchestrator
    or agent was started (an agent would refuse the setting and be restarted forever)."""
    (tmp_path / "prices.json").write_text("[]")
    env = {key: value for key, value in cli_env.items() if not key.startswith("GAAI_LLM_")}
    env.update(setting)
    up = subprocess.Popen(
        [*GAAI, "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = up.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        up.send_signal(signal.SIGTERM)  # it stops what it started
        stdout, stderr = up.communicate(timeout=30)
        pytest.fail(f"gaai up kept running with a bad LLM setting:\n{stdout}{stderr}")
    finally:
        left = processes_in_session(up.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert up.returncode == 2
    assert stderr.splitlines() == [message]
    assert stdout == ""
    assert left == [], "no process of gaai up is left"
    assert not (home / "logs").exists(), "no process was started"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    """One stack with two execution replicas for the tests that only submit to it."""
    home = tmp_path_factory.mktemp("stack-home")
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    with LocalStack(home=home, scale={"execution": 2}) as running:
        yield running


async def test_any_language_can_submit_plain_json(stack):
    """Plain JSON over NATS request/reply starts a workflow and reports its status."""
    nc = await nats.connect(stack.nats_url)
    try:
        for _ in range(300):  # the orchestrator process may still be starting
            try:
                reply = json.loads(
                    (await nc.request("gaai.workflow.status", b'{"workflow_id": "none"}', timeout=30)).data
                )
                break
            except nats.errors.NoRespondersError:
                await asyncio.sleep(0.1)
        assert reply["error"]["code"] == "unknown_workflow"
        for body, code in [
            (b"not json", "bad_request"),
            (b'{"graph_name": "missing"}', "unknown_graph"),
            (b'{"graph_name": "ecommerce", "documents": [{"path": "/etc/passwd"}]}', "path_not_allowed"),
            (b'{"graph_name": "ecommerce", "documents": [{"content": "x", "name": "a.exe"}]}', "unsupported_document"),
        ]:
            answer = json.loads((await nc.request("gaai.workflow.submit", body, timeout=10)).data)
            assert answer["error"]["code"] == code, (body, answer)
            assert answer["error"]["message"]
        request = {
            "graph_name": "ecommerce",
            "documents": [
                {
                    "content": (
                        "We must find the most influential customers. We should detect communities of customers."
                    ),
                    "name": "asks.md",
                }
            ],
            "max_executions": 2,
        }
        accepted = json.loads((await nc.request("gaai.workflow.submit", json.dumps(request).encode(), timeout=10)).data)
        workflow_id = accepted["workflow_id"]
        events = []

        async def collect(message) -> None:
            events.append(json.loads(message.data))

        sub = await nc.subscribe(f"gaai.event.{workflow_id}", cb=collect)
        for _ in range(600):
            status = json.loads(
                (
                    await nc.request(
                        "gaai.workflow.status", json.dumps({"workflow_id": workflow_id}).encode(), timeout=10
                    )
                ).data
            )
            if status["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.1)
        await sub.unsubscribe()
        assert status["status"] == "completed", status["failures"]
        algorithms = sorted(t["label"].split("(")[1].rstrip(")") for t in status["tasks"] if t["agent"] == "execution")
        assert algorithms == ["louvain", "pagerank"]
        assert len(status["reports"]) == 2
        for report in status["reports"]:
            assert {a["format"] for a in report["artifacts"]} == {"md", "json", "html"}
        # Subscribed after submitting, so the first events may be missed, never the reports'.
        ran_on = {t["task_id"]: t["instance"] for t in status["tasks"]}
        task_events = [t for e in events for t in ([e] if e["kind"] == "task" else e["tasks"])]
        announced = [
            (t["task_id"], t["status"], t["instance"]) for t in task_events if t["status"] in ("running", "completed")
        ]
        assert all(instance == ran_on[task_id] for task_id, _, instance in announced), (
            "ends and starts name the instance that did the task"
        )
        assert {t for t, status, _ in announced if status == "completed"} >= {t for t in ran_on if ".reporting." in t}
    finally:
        await nc.close()


async def test_execution_replicas_share_the_templates(stack):
    """With two execution replicas, the executions of one workflow are spread over both."""
    from gaai.bus.contract import SubmitRequest
    from gaai.bus.settings import Settings
    from graph_analytics_ai.client import connected_client

    async with connected_client(Settings(nats_url=stack.nats_url), name="test") as client:
        text = Path(__file__).parents[2].joinpath("graph_analytics_ai/data/requirements_ecommerce.md").read_text()
        ids = [
            await client.submit(SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=5))
            for _ in range(2)
        ]
        finals = [await client.wait(i, timeout=180) for i in ids]
    pids = {t.instance.pid for f in finals for t in f.tasks if t.agent == "execution"}
    assert all(f.status == "completed" for f in finals)
    assert len(pids) == 2


def test_up_serves_clients_given_nats_url_and_stops_cleanly(cli_env, tmp_path, nats_server):
    """`gaai up` on an existing server; `gaai demo` with NATS_URL uses it; SIGTERM stops every process."""
    import signal
    import time

    env = dict(cli_env, NATS_URL=nats_server.url)
    up = subprocess.Popen(
        [*GAAI, "up", "--scale", "execution=2", "--no-web"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = up.stdout.readline()
        assert nats_server.url in banner, banner
        pids = []
        for line in iter(up.stdout.readline, ""):
            if line.startswith("Press Ctrl-C"):
                break
            pids.append(int(line.split("pid")[1]))
        assert len(pids) == 1 + len(AGENT_NAMES) + 1  # orchestrator, each agent, one extra execution replica
        demo = gaai("demo", "--output", str(tmp_path / "out"), "--max-executions", "2", env=env, cwd=tmp_path)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        workflow_id = demo.stdout.split("Submitted workflow ")[1].split()[0]
        status = gaai("status", workflow_id, env=env, cwd=tmp_path)
        assert status.returncode == 0 and "completed" in status.stdout
        summary = gaai("trace", "summary", workflow_id, env=env, cwd=tmp_path)
        assert "Total Calls: " in summary.stdout and workflow_id in summary.stdout
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=30)
    assert up.returncode == 0
    time.sleep(0.2)
    alive = [
        pid
        for pid in pids
        if Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    ]
    assert alive == []


def test_a_graph_it_has_never_seen(cli_env, tmp_path):
    """Import a CSV edge list of a made-up network and run the workflow on it from an HTML document."""
    import random

    rng = random.Random(3)
    rows = ["source,target"]
    for group in range(4):  # four dense groups of 30 people, weakly linked
        members = [f"p{group}_{i}" for i in range(30)]
        rows += [f"{a},{b}" for a in members for b in rng.sample(members, 4) if a != b]
    rows += ["p0_0,p1_0", "p1_0,p2_0", "p2_0,p3_0", "p3_0,p0_0"]
    (tmp_path / "knows.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "brief.html").write_text(
        "<html><body><h1>Research network review</h1><ul>"
        "<li>REQ-1: We must find the researchers who act as brokers between groups.</li>"
        "<li>REQ-2: We should detect communities of researchers.</li>"
        "<script>alert(1)</script></ul></body></html>"
    )
    imported = gaai("import", "lab", str(tmp_path / "knows.csv"), env=cli_env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    graphs = gaai("graphs", env=cli_env, cwd=tmp_path)
    assert "lab" in graphs.stdout and "knows" in graphs.stdout
    run = gaai(
        "run", "--graph", "lab", "--docs", "brief.html", "--output", str(tmp_path / "out"), env=cli_env, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [folder] = list((tmp_path / "out").iterdir())
    state = json.loads((folder / "workflow.json").read_text())
    algorithms = {t["label"].split("(")[1].rstrip(")") for t in state["tasks"] if t["agent"] == "execution"}
    assert {"betweenness", "louvain"} <= algorithms
    louvain = next(
        r
        for r in state["reports"]
        if "louvain" in json.loads((folder / f"{r['template_id']}.json").read_text())["template"]["algorithm"]
    )
    body = json.loads((folder / f"{louvain['template_id']}.json").read_text())
    assert body["execution"]["groups"]["count"] >= 4
    assert body["execution"]["groups"]["modularity"] > 0.5


def test_questions_the_graph_cannot_answer_are_reported(cli_env, tmp_path):
    """Loops are asked for where only customers → products edges exist: the run says so instead of dropping it."""
    lines = {
        "customers": [{"_key": f"c{i}"} for i in range(30)],
        "products": [{"_key": f"p{i}"} for i in range(10)],
        "purchased": [{"_from": f"customers/c{i}", "_to": f"products/p{(i * 7) % 10}"} for i in range(30)],
    }
    for name, rows in lines.items():
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "brief.md").write_text(
        "# Shop review\n\n"
        "- REQ-1: We must detect circular purchase loops.\n"
        "- REQ-2: We must find the most popular products.\n"
    )
    files = [str(tmp_path / f"{name}.jsonl") for name in lines]
    assert gaai("import", "shop", *files, env=cli_env, cwd=tmp_path).returncode == 0
    run = gaai(
        "run", "--graph", "shop", "--docs", "brief.md", "--output", str(tmp_path / "out"), env=cli_env, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "not answerable on this graph: scc, asked by REQ-1" in run.stdout
    [folder] = list((tmp_path / "out").iterdir())
    state = json.loads((folder / "workflow.json").read_text())
    assert [(q["algorithm"], q["requirement_ids"]) for q in state["unanswered"]] == [("scc", ["REQ-1"])]
    assert "cycle" in state["unanswered"][0]["reason"]
    assert {t["label"].split("(")[1].rstrip(")") for t in state["tasks"] if t["agent"] == "execution"} == {"pagerank"}
