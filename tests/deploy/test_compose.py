"""compose.yaml and the Dockerfile checked against the code, without a Docker engine.

Nothing here builds an image or starts a container (neither this machine nor CI has a
Docker engine). Instead each test reads the files and holds them against what the code
really does: which modules can be run, which environment variables are read, which NATS
users the shipped server configuration defines, which files the build context holds.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from packaging.specifiers import SpecifierSet

from gaai.bus import settings as bus_settings
from gaai.bus.connection import TOPOLOGY_WAIT_S
from gaai.bus.contract import AGENT_NAMES, TASK_AGENTS
from gaai.bus.server import nats_server_binary
from graph_analytics_ai.stack import ENTRY_MODULES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
CLUSTER = ROOT / "compose.cluster.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def installed_folders() -> frozenset[str]:
    """The repository's folders the wheel installs: the app, and the ones setup.py maps under ``gaai.``."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    layers = next(
        node.value for node in tree.body if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "LAYERS"
    )
    return frozenset({"graph_analytics_ai", *ast.literal_eval(layers)})


# ---------------------------------------------------------------- reading the files


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


def our_services() -> dict[str, dict]:
    """The services that run the project's image (the ones built from this repository)."""
    return {name: service for name, service in services().items() if "build" in service}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


_REFERENCE = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


def references(value: str) -> list[tuple[str, str]]:
    """The ``(name, operator)`` of each variable a compose value interpolates."""
    found = []
    for match in _REFERENCE.finditer(value):
        if match.group(0) == "$$":
            continue
        if match.group("bare"):
            found.append((match.group("bare"), ""))
            continue
        braced = _BRACED.match(match.group("braced"))
        assert braced, f"cannot read the interpolation {match.group(0)!r}"
        found.append((braced.group("name"), braced.group("op") or ""))
    return found


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation (``$$``, ``$X``, ``${X}``, ``${X:-d}``, ``${X-d}``, ``${X:?e}``, ``${X?e}``,
    ``${X:+r}``)."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("bare"):
            return env.get(match.group("bare"), "")
        braced = _BRACED.match(match.group("braced"))
        name, op, arg = braced.group("name"), braced.group("op") or "", braced.group("arg") or ""
        present = name in env and (env[name] != "" or not op.startswith(":"))
        if op.endswith("?") and not present:
            raise KeyError(f"{name}: {arg}")
        if op.endswith("-") and not present:
            return interpolate(arg, env)
        if op.endswith("+"):
            return interpolate(arg, env) if present else ""
        return env.get(name, "")

    return _REFERENCE.sub(replace, value)


def command(service: dict) -> list[str]:
    value = service.get("command")
    assert isinstance(value, list), f"command must be a list (exec form, so signals reach the process), got {value!r}"
    return value


def process_of(name: str, service: dict) -> tuple[str, str]:
    """``("orchestrator", "orchestrator")``, ``("agent", NAME)``, ``("web", "web")`` or ``("cli", "client")`` for one of
    our services."""
    argv = command(service)
    if argv[:2] == ["python", "-m"]:
        module = argv[2]
        if module == "gaai.orchestrator":
            return "orchestrator", "orchestrator"
        if module.startswith("gaai.agents."):
            return "agent", module.removeprefix("gaai.agents.")
        if module == "gaai.web":
            return "web", "web"
    if argv[:1] == ["gaai"]:
        if argv[1:2] == ["orchestrator"]:
            return "orchestrator", "orchestrator"
        if argv[1:2] == ["agent"]:
            return "agent", argv[2]
        return "cli", "client"
    raise AssertionError(f"service {name} runs {argv!r}, which is not a gaai process")


def duration_s(value: str) -> float:
    """A compose duration (``1m30s``, ``45s``, ``500ms``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", value)
    assert parts and "".join(number + unit for number, unit in parts) == value, f"cannot read the duration {value!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def mounts(service: dict) -> list[tuple[str, str]]:
    """``(source, target)`` of each volume of a service (short or long syntax)."""
    result = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        result.append((source, target))
    return result


@cache
def nats_config() -> tuple[Path, str]:
    """The server configuration file that compose mounts, and its text."""
    nats = services()["nats"]
    argv = command(nats)
    target = argv[argv.index("--config") + 1] if "--config" in argv else argv[argv.index("-c") + 1]
    sources = [source for source, mount in mounts(nats) if mount == target]
    assert sources, f"the nats service's --config {target} is not mounted"
    path = (COMPOSE.parent / sources[0]).resolve()
    assert path.is_file(), f"{sources[0]} does not exist"
    return path, path.read_text()


def nats_users() -> dict[str, str]:
    """User name -> the environment variable holding its password, from the mounted config."""
    users = dict(re.findall(r'\{user:\s*"([^"]+)",\s*password:\s*\$([A-Za-z_][A-Za-z0-9_]*)', nats_config()[1]))
    assert users, "no users with passwords in the nats configuration"
    return users


@cache
def variables_read_by_the_code() -> frozenset[str]:
    """Environment variables the project's packages read: ``Settings.from_env``'s and every ``os.environ`` lookup."""
    names = {variable for _, variable, _ in bus_settings._ENVIRONMENT}
    lookup = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")
    for package in installed_folders():
        for path in ROOT.glob(f"{package}/**/*.py"):
            names.update(lookup.findall(path.read_text()))
    return frozenset(names)


@cache
def variables_read_by_numba() -> frozenset[str]:
    """The ``NUMBA_*`` variables numba's configuration reads (each ``_readenv("NUMBA_...")`` in
    ``numba/core/config.py``)."""
    source = Path(importlib.util.find_spec("numba.core.config").origin).read_text()
    names = frozenset(re.findall(r'_readenv\(\s*"(NUMBA_[A-Z0-9_]+)"', source))
    assert names, "found no variables in numba's configuration: has it changed how it reads them?"
    return names


def assert_runnable_module(module: str, where: str) -> None:
    """``python -m MODULE`` runs something: a package with a ``__main__``, or a module with a ``__main__`` guard."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{where}: no module {module}"
    if spec.submodule_search_locations is not None:
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{where}: package {module} has no __main__"
    else:
        assert 'if __name__ == "__main__":' in Path(spec.origin).read_text(), f"{where}: {module} does nothing when run"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def env_assignments(arguments: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in arguments.split())


def run_argv(arguments: str) -> list[str]:
    """A RUN's command as words, its ``--mount`` and other flags left out; exec form or shell form."""
    words = arguments.split(" ")
    while words and words[0].startswith("--"):
        words.pop(0)
    command = " ".join(words).strip()
    return json.loads(command) if command.startswith("[") else shlex.split(command)


def stage_named(name: str) -> list[tuple[str, str]]:
    return next(stage for stage in dockerfile_stages() if stage[0][1].upper().endswith(f" AS {name.upper()}"))


def build_target(service: dict) -> str | None:
    """The Dockerfile stage a service's image is built from (None: the last one)."""
    build = service["build"]
    return build.get("target") if isinstance(build, dict) else None


def image_instructions(target: str | None) -> list[tuple[str, str]]:
    """The instructions that make the image of a build target, those of the stages it is built on first."""
    stages = dockerfile_stages()
    stage = stage_named(target) if target else stages[-1]
    base = stage[0][1].split()[0]
    named = {rest.split()[-1] for stage in stages for keyword, rest in stage[:1] if " AS " in rest.upper()}
    return [*image_instructions(base), *stage[1:]] if base in named else stage


def images() -> dict[str | None, list[str]]:
    """Each build target compose uses, and the services built from it."""
    found: dict[str | None, list[str]] = {}
    for name, service in our_services().items():
        found.setdefault(build_target(service), []).append(name)
    return found


def runtime_root_run() -> list[str]:
    """The build's call of tools/containers/runtime_root.py, which lays out the runtime image's filesystem."""
    found = [
        run_argv(rest)
        for stage in dockerfile_stages()[:-1]
        for keyword, rest in stage
        if keyword == "RUN" and "runtime_root.py" in rest
    ]
    assert len(found) == 1, f"the build runs runtime_root.py {len(found)} times"
    return found[0]


def runtime_root_option(name: str) -> list[str]:
    argv = runtime_root_run()
    return [argv[index + 1] for index, word in enumerate(argv) if word == name]


def copies(stage: list[tuple[str, str]]) -> list[tuple[dict[str, str], list[str], str]]:
    """``(flags, sources, destination)`` of each COPY in a stage."""
    result = []
    for keyword, rest in stage:
        if keyword != "COPY":
            continue
        words = rest.split()
        flags = dict(word[2:].split("=", 1) for word in words if word.startswith("--"))
        paths = [word for word in words if not word.startswith("--")]
        result.append((flags, paths[:-1], paths[-1]))
    return result


def dockerignore_excludes(relative: str) -> bool:
    """Whether the build context leaves ``relative`` out (Docker's rules: last match wins, a pattern matching a parent
    folder matches its contents)."""
    excluded = False
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = (
            re.escape(pattern)
            .replace(r"\*\*/", "(?:.*/)?")
            .replace(r"\*\*", ".*")
            .replace(r"\*", "[^/]*")
            .replace(r"\?", "[^/]")
        )
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negated
    return excluded


# ---------------------------------------------------------------- the compose file


def test_compose_file_is_valid_against_the_compose_specification():
    """The file parses and validates against the Compose Specification's JSON Schema (as shipped by
    check-jsonschema)."""
    schema = json.loads(
        (resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json").read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, error.path))}: {error.message}" for error in errors)


def test_every_service_of_our_image_runs_an_entry_point_of_the_project():
    """``python -m MODULE`` names a runnable module of the project; ``gaai ARGS`` resolves to the console script and
    parses."""
    assert our_services(), "no service builds the project's image"
    for name, service in our_services().items():
        argv = command(service)
        if argv[:2] == ["python", "-m"]:
            assert_runnable_module(argv[2], name)
        elif argv[:1] == ["gaai"]:
            module_name, _, function = PYPROJECT["project"]["scripts"]["gaai"].partition(":")
            module = importlib.import_module(module_name)
            assert callable(getattr(module, function)), f"{name}: the gaai script's {function} is not callable"
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    module.build_parser().parse_args(argv[1:])
                except SystemExit as exit_:
                    assert exit_.code == 0, f"{name}: gaai refuses {argv[1:]!r}"
        else:
            raise AssertionError(f"{name}: {argv!r} is neither python -m nor gaai")


def test_every_agent_kind_and_the_orchestrator_have_exactly_one_service():
    """Each agent the orchestrator sends tasks to, the catalog and the orchestrator run in a service of their own."""
    assert set(TASK_AGENTS) <= set(AGENT_NAMES)
    running: dict[str, list[str]] = {}
    for name, service in our_services().items():
        kind, process = process_of(name, service)
        if kind != "cli":
            running.setdefault(process, []).append(name)
    for process in ("orchestrator", *AGENT_NAMES, "web"):
        assert len(running.get(process, [])) == 1, f"{process} runs in services {running.get(process, [])}"
    assert set(running) == {"orchestrator", *AGENT_NAMES, "web"}, (
        f"services run unknown agents: {set(running) - set(AGENT_NAMES)}"
    )


def test_each_service_runs_the_entry_module_the_code_lists_for_its_process():
    """compose.yaml spells out ``python -m MODULE``; each MODULE is the one ``gaai up`` starts for that process."""
    assert tuple(ENTRY_MODULES) == ("orchestrator", *AGENT_NAMES, "web")
    commands = {name: command(service) for name, service in our_services().items() if name in ENTRY_MODULES}
    assert commands == {process: ["python", "-m", module] for process, module in ENTRY_MODULES.items()}


def test_every_environment_variable_set_is_read_by_what_it_is_given_to():
    """Our processes' variables are read by the code; nats-server's by its configuration; other images get none."""
    read = variables_read_by_the_code()
    config = nats_config()[1]
    for name, service in services().items():
        env = environment(service)
        if name in our_services():
            unread = sorted(set(env) - read)
            assert not unread, f"{name} sets {unread}, which no code reads"
        elif name == "nats":
            unread = sorted(variable for variable in env if not re.search(rf"\${{?{variable}\b", config))
            assert not unread, f"nats sets {unread}, which its configuration does not use"
        else:
            assert not env, f"{name} sets {sorted(env)}; check the image reads them, then teach this test"


def test_each_process_logs_in_as_its_own_user_with_the_password_the_server_expects():
    """NATS_USER is the process's own user in deploy/'s config; its password and the server's come from the same
    required variable."""
    users = nats_users()
    server_env = environment(services()["nats"])
    for name, service in our_services().items():
        _, user = process_of(name, service)
        env = environment(service)
        assert env.get("NATS_USER") == user, f"{name} must log in as {user!r}, not {env.get('NATS_USER')!r}"
        assert user in users, f"the nats configuration has no user {user!r}"
        variable = users[user]
        assert references(env.get("NATS_PASSWORD", "")) == [(variable, ":?")], (
            f"{name}: NATS_PASSWORD must be ${{{variable}:?...}}"
        )
        assert references(server_env.get(variable, "")) == [(variable, ":?")], (
            f"nats: {variable} must be ${{{variable}:?...}}"
        )
        url = urlsplit(interpolate(env["NATS_URL"], {}))
        assert url.scheme == "nats" and url.hostname == "nats" and (url.port or 4222) == 4222, (
            f"{name}: NATS_URL {env['NATS_URL']} is not the nats service"
        )
    # No password has a default: without .env, compose refuses to start rather than run with a known one.
    passwords = [
        value for service in services().values() for key, value in environment(service).items() if "PASSWORD" in key
    ]
    for value in passwords:
        with pytest.raises(KeyError):
            interpolate(value, {})


def test_nats_server_accepts_the_mounted_configuration_with_the_environment_compose_gives_it():
    """``nats-server -t`` with the mounted file and the nats service's variables (passwords filled in) finds the file
    valid."""
    path, text = nats_config()
    env = environment(services()["nats"])
    dummy = {variable: f"pw-{variable.lower()}" for value in env.values() for variable, _ in references(value)}
    server_env = {"PATH": os.environ.get("PATH", ""), **{key: interpolate(value, dummy) for key, value in env.items()}}
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(path)], env=server_env, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    store_dir = re.search(r"store_dir:\s*\"?([^\s\"]+)", text).group(1)
    targets = [target for source, target in mounts(services()["nats"]) if not source.startswith((".", "/"))]
    assert any(store_dir == target or store_dir.startswith(target.rstrip("/") + "/") for target in targets), (
        f"the JetStream store {store_dir} is not on a volume"
    )
    assert set(nats_users()) == {"orchestrator", "client", "web", *AGENT_NAMES}


def test_the_graph_store_is_one_volume_shared_at_gaai_home():
    """Every process has GAAI_HOME on the same named volume, the image's GAAI_HOME, which the image's user owns."""
    declared = set(compose().get("volumes") or {})
    homes = set()
    for name, service in our_services().items():
        home = environment(service).get("GAAI_HOME")
        assert home, f"{name} does not set GAAI_HOME"
        on_home = [source for source, target in mounts(service) if target == home]
        assert on_home and on_home[0] in declared, f"{name}: GAAI_HOME {home} is not on a named volume"
        homes.add((on_home[0], home))
    assert len(homes) == 1, f"processes see different stores: {homes}"
    ((_, home),) = homes
    for target in images():
        image_env = {
            key: value
            for keyword, rest in image_instructions(target)
            if keyword == "ENV"
            for key, value in env_assignments(rest).items()
        }
        assert image_env.get("GAAI_HOME") == home, f"the {target} image's GAAI_HOME is not {home}"
    assert home in runtime_root_option("--writable"), f"the image does not give {home} to its user"


def test_execution_is_replicated_and_every_dependency_waits_for_a_healthy_server():
    """The execution agent runs replicas; services that wait for a healthy service wait for one that has a
    healthcheck."""
    assert int(services()["execution"]["deploy"]["replicas"]) >= 2
    assert "container_name" not in services()["execution"], "a fixed container name forbids replicas"
    assert "healthcheck" in services()["nats"]
    for name, service in services().items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services(), f"{name} depends on a missing service {dependency}"
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services()[dependency], (
                    f"{name} waits for {dependency} to be healthy, but it has no healthcheck"
                )
        if name in our_services():
            assert (service.get("depends_on") or {}).get("nats", {}).get("condition") == "service_healthy", (
                f"{name} may start before nats-server"
            )


HEALTH_CHECK = "gaai.bus.health"


def test_every_long_running_process_has_a_healthcheck_on_a_heartbeat_file_of_its_own(tmp_path):
    """Every gaai service but the one-shot client checks its process with ``python -m gaai.bus.health`` in exec form
    (the image needs no shell or network tool for it), reading GAAI_HEALTH_FILE. That file is on no volume: the
    replicas of a service share its volumes and would overwrite each other's heartbeat. The start period outlasts the
    wait for the orchestrator's streams, before which an agent has not connected and writes no heartbeat. The command
    as written passes on a heartbeat one interval old and fails when there is none.
    """
    commands = set()
    for name, service in our_services().items():
        kind, _ = process_of(name, service)
        env = environment(service)
        if kind == "cli":
            assert "healthcheck" not in service and "GAAI_HEALTH_FILE" not in env, (
                f"{name} runs one command and exits: it needs no heartbeat"
            )
            continue
        healthcheck = service.get("healthcheck") or {}
        assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no healthcheck"
        form, *argv = healthcheck["test"]
        assert form == "CMD" and argv[:3] == ["python", "-m", HEALTH_CHECK], (
            f"{name}: the healthcheck runs {healthcheck['test']!r}, not python -m {HEALTH_CHECK}"
        )
        assert_runnable_module(HEALTH_CHECK, f"{name}'s healthcheck")
        health_file = env.get("GAAI_HEALTH_FILE", "")
        assert health_file.startswith("/"), f"{name}: GAAI_HEALTH_FILE {health_file!r} is not an absolute path"
        shared = [
            target
            for _, target in mounts(service)
            if health_file == target or health_file.startswith(target.rstrip("/") + "/")
        ]
        assert not shared, (
            f"{name}: GAAI_HEALTH_FILE {health_file} is on the volume at {shared[0]}, "
            "which all replicas of the service share"
        )
        start_period = duration_s(healthcheck.get("start_period", "0s"))
        assert start_period > TOPOLOGY_WAIT_S, (
            f"{name}: a start period of {start_period:g} s ends before an agent stops waiting for the streams "
            f"({TOPOLOGY_WAIT_S:g} s)"
        )
        commands.add((tuple(argv[1:]), env.get("GAAI_HEALTH_INTERVAL_S")))
    heartbeat_file = tmp_path / "gaai-health.json"
    for arguments, interval in commands:
        run_env = {key: value for key, value in os.environ.items() if not key.startswith("GAAI_HEALTH_")}
        run_env.update(
            GAAI_HEALTH_FILE=str(heartbeat_file), **({"GAAI_HEALTH_INTERVAL_S": interval} if interval else {})
        )
        interval_s = float(interval) if interval else bus_settings.Settings().health_interval_s
        heartbeat_file.write_text(json.dumps({"pid": 1, "process": "gaai-test", "time": time.time() - interval_s}))
        beating = subprocess.run([sys.executable, *arguments], env=run_env, capture_output=True, text=True, timeout=30)
        assert beating.returncode == 0, f"the healthcheck fails on a heartbeat one interval old: {beating.stderr}"
        heartbeat_file.unlink()
        silent = subprocess.run([sys.executable, *arguments], env=run_env, capture_output=True, text=True, timeout=30)
        assert silent.returncode == 1, f"the healthcheck passes without a heartbeat: {silent.stdout}{silent.stderr}"


def test_every_process_exports_its_traces_to_the_jaeger_service():
    """All processes have the same OTLP settings, and they point at a port the Jaeger service receives that protocol
    on."""
    settings = {
        name: {key: value for key, value in environment(service).items() if key.startswith("OTEL_")}
        for name, service in our_services().items()
    }
    assert len({json.dumps(value, sort_keys=True) for value in settings.values()}) == 1, f"processes differ: {settings}"
    otel = next(iter(settings.values()))
    endpoint = urlsplit(otel.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or otel["OTEL_EXPORTER_OTLP_ENDPOINT"])
    protocol = otel.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert endpoint.hostname in services() and "jaeger" in services()[endpoint.hostname]["image"]
    assert (protocol, endpoint.port) in {("http/protobuf", 4318), ("grpc", 4317)}, (
        f"{protocol} is not received on port {endpoint.port}"
    )
    assert endpoint.scheme == "http"


# ---------------------------------------------------------------- the cluster profile (compose.cluster.yaml)


def merged(base: object, override: object, key: str = "") -> object:
    """``override`` laid over ``base`` as compose merges ``-f`` files: mappings key by key, a command or healthcheck
    test replaced, volumes by their target, other sequences appended."""
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for name, value in override.items():
            result[name] = merged(base[name], value, name) if name in base else value
        return result
    if isinstance(base, list) and isinstance(override, list) and key not in ("command", "entrypoint", "test"):
        if key == "volumes":
            targets = {target for _, target in mounts({"volumes": override})}
            return [v for v in base if mounts({"volumes": [v]})[0][1] not in targets] + override
        return base + [item for item in override if item not in base]
    return override


@cache
def cluster_compose() -> dict:
    return merged(compose(), yaml.safe_load(CLUSTER.read_text()))


def cluster_nodes() -> dict[str, dict]:
    """The nats-server services of the cluster profile, by service name."""
    return {
        name: service
        for name, service in cluster_compose()["services"].items()
        if service.get("image", "").startswith("nats:")
    }


def dns_names(name: str, service: dict) -> set[str]:
    """The names other containers reach a service by: its own and its aliases on the default network."""
    aliases = ((service.get("networks") or {}).get("default") or {}).get("aliases") or []
    return {name, *aliases}


def cluster_config() -> str:
    return (ROOT / "deploy" / "nats-cluster.conf").read_text()


def test_the_cluster_file_alone_and_laid_over_compose_yaml_is_valid_against_the_compose_specification():
    schema = json.loads(
        (resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json").read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    for what, document in (
        ("compose.cluster.yaml", yaml.safe_load(CLUSTER.read_text())),
        ("merged", cluster_compose()),
    ):
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
        assert not errors, what + ": " + "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_cluster_runs_three_nodes_each_named_routed_to_and_with_a_store_of_its_own():
    """Three nats services run deploy/nats-cluster.conf (with the nats-server.conf it includes beside it); each node's
    GAAI_NATS_NODE is a name the others reach it by, the routes name exactly the three, each store is a volume of its
    own, and each node has a healthcheck."""
    nodes = cluster_nodes()
    assert len(nodes) == 3, sorted(nodes)
    routes = set(re.findall(r"nats-route://([\w.-]+):6222", cluster_config()))
    declared = set(cluster_compose().get("volumes") or {})
    names, stores = set(), set()
    for name, service in nodes.items():
        argv = command(service)
        config = argv[argv.index("--config") + 1]
        sources = {target: source for source, target in mounts(service)}
        assert Path(sources.get(config, "")).name == "nats-cluster.conf", f"{name} does not run the cluster config"
        beside = str(Path(config).parent / "nats-server.conf")
        assert Path(sources.get(beside, "")).name == "nats-server.conf", f"{name}: the included file is not at {beside}"
        node = environment(service).get("GAAI_NATS_NODE", "")
        assert node in dns_names(name, service), f"{name}: GAAI_NATS_NODE {node!r} is not a name it is reached by"
        names.add(node)
        [store] = [source for source, target in mounts(service) if target == "/data"]
        assert store in declared, f"{name}: its JetStream store {store} is not a named volume"
        stores.add(store)
        assert "healthcheck" in service, f"{name} has no healthcheck"
    assert names == routes, f"the routes name {sorted(routes)}, the nodes are {sorted(names)}"
    assert len(stores) == 3, f"nodes share a store: {stores}"


def test_nats_server_accepts_each_node_configuration_with_the_environment_compose_gives_it():
    for name, service in cluster_nodes().items():
        env = environment(service)
        dummy = {variable: f"pw-{variable.lower()}" for value in env.values() for variable, _ in references(value)}
        server_env = {
            "PATH": os.environ.get("PATH", ""),
            **{key: interpolate(value, dummy) for key, value in env.items()},
        }
        checked = subprocess.run(
            [nats_server_binary(), "-t", "-c", str(ROOT / "deploy" / "nats-cluster.conf")],
            env=server_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, f"{name}: {checked.stderr}{checked.stdout}"
        passwords = {variable for variable in env if variable.startswith("GAAI_PASSWORD_")}
        assert passwords == set(nats_users().values()), f"{name} lacks {set(nats_users().values()) - passwords}"
    assert "sync_interval: always" in nats_config()[1]


def test_on_the_cluster_every_process_lists_every_node_keeps_three_replicas_and_waits_for_every_node():
    nodes = cluster_nodes()
    names = {environment(service)["GAAI_NATS_NODE"] for service in nodes.values()}
    read = variables_read_by_the_code()
    ours = {name: service for name, service in cluster_compose()["services"].items() if "build" in service}
    assert set(ours) == set(our_services())
    for name, service in ours.items():
        env = environment(service)
        assert not sorted(set(env) - read), f"{name} sets {sorted(set(env) - read)}, which no code reads"
        servers = [urlsplit(server) for server in bus_settings.nats_servers(interpolate(env["NATS_URL"], {}))]
        assert {(url.scheme, url.hostname, url.port) for url in servers} == {("nats", node, 4222) for node in names}, (
            f"{name}: NATS_URL {env['NATS_URL']} does not list every node"
        )
        assert bus_settings.parse_setting("GAAI_REPLICAS", int, env["GAAI_REPLICAS"]) == len(nodes)
        assert bus_settings.parse_setting("GAAI_ACK_WAIT_S", float, env["GAAI_ACK_WAIT_S"]) <= 10
        waits_for = {
            dependency for dependency, c in service["depends_on"].items() if c["condition"] == "service_healthy"
        }
        assert waits_for >= set(nodes), f"{name} may start before {sorted(set(nodes) - waits_for)}"


# ---------------------------------------------------------------- the image


def test_the_dockerfile_builds_from_files_that_exist_and_reach_the_build_context():
    """Every COPY source exists and is not left out by .dockerignore; every package and the readme pyproject names are
    copied."""
    stages = dockerfile_stages()
    names = [stage[0][1].split()[-1] if " AS " in stage[0][1].upper() else None for stage in stages]
    copied: set[str] = set()
    for number, stage in enumerate(stages):
        for flags, sources, _ in copies(stage):
            if "from" in flags:
                assert flags["from"] in names[:number] or flags["from"].isdigit(), (
                    f"COPY --from={flags['from']} names no earlier stage"
                )
                continue
            for source in sources:
                path = ROOT / source
                assert path.exists(), f"COPY {source}: no such file"
                files = (
                    [path]
                    if path.is_file()
                    else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
                )
                assert files, f"COPY {source}: empty"
                left_out = [str(p.relative_to(ROOT)) for p in files if dockerignore_excludes(str(p.relative_to(ROOT)))]
                assert not left_out, f".dockerignore leaves out what COPY {source} needs: {left_out[:5]}"
                copied.add(source.rstrip("/"))
    for keyword, rest in dockerfile_instructions():
        for mount in re.findall(r"--mount=(\S+)", rest) if keyword == "RUN" else []:
            options = dict(option.split("=", 1) for option in mount.split(","))
            if options.get("type") == "bind" and "from" not in options:
                assert (ROOT / options["source"]).is_file(), f"RUN --mount {options['source']}: no such file"
                assert not dockerignore_excludes(options["source"]), f".dockerignore leaves out {options['source']}"
    packages = installed_folders()
    assert packages | {"pyproject.toml", "setup.py", PYPROJECT["project"]["readme"]} <= copied, (
        f"not copied: {sorted(packages - copied)}"
    )
    assert (
        dockerignore_excludes(".env")
        and dockerignore_excludes(".venv/bin/python")
        and dockerignore_excludes("tests/conftest.py")
    )


def test_the_images_run_a_supported_python_as_a_user_who_is_not_root():
    """Each image compose builds is the runtime root on nothing, laid out from a stage on an official python image
    whose Python satisfies requires-python by that stage's virtualenv; its last USER is the root's user and not
    root; PATH leads to the installed project."""
    arguments = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            arguments[key] = value
    argv = runtime_root_run()
    venvs = {
        rest.split()[-1]
        for stage in dockerfile_stages()
        for keyword, rest in stage
        if keyword == "RUN" and "-m venv" in rest
    }
    assert argv[0] in {f"{venv}/bin/python" for venv in venvs}, "the runtime root is not laid out from the virtualenv"
    (root_user,) = runtime_root_option("--user")
    assert set(images()) == {"engine", "services"}, f"compose builds {sorted(map(str, images()))}"
    for target in images():
        image = image_instructions(target)
        assert image[0][1].split()[0] == "scratch", f"the {target} image carries a base image's files"
        ((flags, sources, _),) = [copy for copy in copies(image) if "from" in copy[0] and copy[2] == "/"]
        assert sources == [argv[2].rstrip("/") + "/"], f"the {target} image's / is not the runtime root"
        base = stage_named(flags["from"])[0][1].split()[0]
        for key, value in arguments.items():
            base = base.replace(f"${{{key}}}", value)
        match = re.fullmatch(r"python:(\d+\.\d+)[-\w.]*", base)
        assert match, f"the runtime root is made from {base}, not an official python image"
        assert match.group(1) in SpecifierSet(PYPROJECT["project"]["requires-python"]), (
            f"Python {match.group(1)} is outside requires-python"
        )
        users = [rest for keyword, rest in image if keyword == "USER"]
        assert users and users[-1].split(":")[0] not in {"root", "0"}, f"the {target} image runs as root"
        assert root_user.split(":")[0] == users[-1].split(":")[0], "the image runs as a user its /etc/passwd lacks"
        path = next(env_assignments(rest)["PATH"] for keyword, rest in image if keyword == "ENV" and "PATH=" in rest)
        assert any(path.split(":")[0] == f"{venv}/bin" for venv in venvs), (
            f"PATH {path} does not start with the virtualenv's bin"
        )


def test_the_engine_image_runs_the_execution_agent_and_the_services_image_every_other_process():
    """compose builds the execution service from the engine target and every other gaai service from the services
    target, and each image's build checks the processes of that role (tools/containers/check_image.py): what the
    engine image's check takes for the engine's processes is what compose runs on it."""
    sys.path.insert(0, str(ROOT / "tools" / "containers"))
    try:
        check_image = importlib.import_module("check_image")
    finally:
        sys.path.remove(str(ROOT / "tools" / "containers"))
    commands = {name: service["command"] for name, service in our_services().items()}
    engine = {ENTRY_MODULES[kind] for kind in check_image.ENGINE_PROCESSES}
    for target, names in images().items():
        runs = {" ".join(commands[name]) for name in names if "profiles" not in services()[name]}
        if target == "engine":
            assert runs == {f"python -m {module}" for module in engine}, f"the engine image runs {runs}"
        else:
            assert not any(module in command for module in engine for command in runs), "services run the engine"
        checks = [
            run_argv(rest) for keyword, rest in image_instructions(target) if keyword == "RUN" and "check_image" in rest
        ]
        assert len(checks) == 1, f"the {target} image is checked {len(checks)} times"
        role = checks[0][checks[0].index("--role") + 1]
        assert role == target, f"the {target} image is checked as {role}"


def test_the_image_sets_only_variables_the_code_reads():
    """ENV in the Dockerfile sets PATH, variables the code reads and numba's own, nothing else."""
    for keyword, rest in dockerfile_instructions():
        if keyword == "ENV":
            unread = sorted(
                set(env_assignments(rest)) - variables_read_by_the_code() - variables_read_by_numba() - {"PATH"}
            )
            assert not unread, f"the Dockerfile sets {unread}, which no code reads"


PRECOMPILE = "gaai.agents.execution.precompile"


def test_the_image_carries_the_execution_engine_compiled_for_its_user():
    """The runtime stage gives its user a NUMBA_CACHE_DIR, then, as that user, with the project copied in and the
    virtualenv's python, compiles the engine's kernels into it; no volume of compose hides that folder.

    numba uses NUMBA_CACHE_DIR only if the process can create files in it, and files the cache under the
    engine's installed path: compiled as root, or before the project is in place, the containers would not
    find the kernels and would compile them at every start.
    """
    assert_runnable_module(PRECOMPILE, "Dockerfile")
    final = image_instructions(build_target(services()["execution"]))
    runtime_user = [rest for keyword, rest in final if keyword == "USER"][-1].split(":")[0]
    venvs = {
        rest.split()[-1]
        for stage in dockerfile_stages()
        for keyword, rest in stage
        if keyword == "RUN" and "-m venv" in rest
    }
    env: dict[str, str] = {}
    user, project_copied, compiled = "root", False, None
    owned = set(runtime_root_option("--writable"))
    for keyword, rest in final:
        if keyword == "ENV":
            env.update(env_assignments(rest))
        elif keyword == "USER":
            user = rest.split(":")[0]
        elif keyword == "COPY":
            project_copied |= any(
                "from" in flags and destination == "/" for flags, _, destination in copies([(keyword, rest)])
            )
        elif keyword == "RUN" and run_argv(rest)[1:3] == ["-m", PRECOMPILE]:
            compiled = (dict(env), user, project_copied, " ".join(run_argv(rest)))
    assert compiled, f"the runtime stage does not run python -m {PRECOMPILE}"
    env_then, user_then, copied_then, run = compiled
    assert copied_then, "the kernels are compiled before the virtualenv with the project is copied in"
    cache_dir = env_then.get("NUMBA_CACHE_DIR")
    assert cache_dir, "NUMBA_CACHE_DIR is not set when the kernels are compiled"
    assert env.get("NUMBA_CACHE_DIR") == cache_dir, (
        "the containers look for the kernels elsewhere than where they were compiled"
    )
    assert user_then == runtime_user and user_then not in {"root", "0"}, (
        f"the kernels are compiled as {user_then}, the containers run as {runtime_user}"
    )
    assert cache_dir in owned, f"{cache_dir} is not given to {runtime_user} before the kernels are compiled into it"
    python = run.split()[0]
    assert python in {f"{venv}/bin/python" for venv in venvs} or (
        python == "python" and any(env_then.get("PATH", "").split(":")[0] == f"{venv}/bin" for venv in venvs)
    ), f"{run!r} does not run the virtualenv's python"
    for name, service in our_services().items():
        hidden = [
            target
            for _, target in mounts(service)
            if cache_dir == target or cache_dir.startswith(target.rstrip("/") + "/")
        ]
        assert not hidden, f"{name} mounts a volume at {hidden[0]}, over the image's compiled kernels in {cache_dir}"
