"""A compose project run for real by a test: finding the engine, the compose commands, the containers and their health.

Needs podman with podman-compose (``tools/containers/install-podman.sh``) or Docker with its compose plugin;
``GAAI_COMPOSE`` picks the compose command (e.g. ``docker compose``), ``GAAI_CONTAINER_ENGINE`` the engine.
podman without systemd does not run healthchecks by itself: ``HealthcheckDriver`` runs them every few seconds, as a
systemd timer would. ``running`` builds the images, starts a project for a test module and prints its timings.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PODMAN_COMPOSE_CACHED = Path.home() / ".cache" / "gaai" / "containers" / "podman-compose" / "bin" / "podman-compose"
# The two images of the gaai services, by the service `compose build` builds each for: the services image
# (every process but the execution agent) and the engine image.
IMAGES = {
    service: yaml.safe_load((ROOT / "compose.yaml").read_text())["services"][service]["image"]
    for service in ("orchestrator", "execution")
}
# Held while building IMAGES: the live modules run on two xdist workers at once, and a build waiting on another
# then finds every layer cached instead of doing the same work beside it.
BUILD_LOCK = Path.home() / ".cache" / "gaai" / "containers" / "image-build.lock"


def find_compose() -> tuple[str, list[str]] | str:
    """(engine, compose command), or why there is none."""
    if os.environ.get("GAAI_COMPOSE"):
        command = shlex.split(os.environ["GAAI_COMPOSE"])
        engine = os.environ.get("GAAI_CONTAINER_ENGINE") or ("docker" if command[0] == "docker" else "podman")
        return engine, command
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return "docker", ["docker", "compose"]
    if shutil.which("podman"):
        podman_compose = shutil.which("podman-compose") or (
            str(PODMAN_COMPOSE_CACHED) if PODMAN_COMPOSE_CACHED.exists() else None
        )
        if podman_compose:
            return "podman", [podman_compose]
        return "podman without podman-compose: run tools/containers/install-podman.sh"
    return "no container engine (podman or Docker with compose): run tools/containers/install-podman.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_environment(texts: list[str]) -> dict[str, str]:
    """This process's environment for compose, with a fresh secret for every variable the compose files require
    (passwords, tokens) and a free host port for every ``GAAI_*_PORT`` they publish; no NATS or password variable of
    the caller leaks in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GAAI_PASSWORD_", "NATS_"))}
    text = "\n".join(texts)
    env.update({variable: secrets.token_hex(16) for variable in set(re.findall(r"\$\{(\w+):?\?", text))})
    env.update({variable: str(free_port()) for variable in set(re.findall(r"\$\{(GAAI_\w+_PORT):-", text))})
    return env


@dataclass
class Container:
    id: str
    name: str
    service: str
    hostname: str
    status: str
    health: str | None
    pid: int
    started_at: str
    restarts: int


@dataclass
class ComposeProject:
    """One compose project of the given files, and the commands on it."""

    engine: str
    compose_command: list[str]
    project: str
    files: list[Path]
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the tests found, printed after the timings

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        files = [argument for path in self.files for argument in ("-f", str(path))]
        command = [*self.compose_command, "-p", self.project, *files, *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(
                f"{shlex.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def engine_run(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        done = subprocess.run([self.engine, *args], capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.engine} {shlex.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def image_id(self, image: str) -> str | None:
        done = subprocess.run(
            [self.engine, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True
        )
        return done.stdout.strip() or None if done.returncode == 0 else None

    def build_images(self) -> None:
        """Build ``IMAGES`` (one build at a time, under ``BUILD_LOCK``), then remove the images they replaced (unless a
        container still uses one) and earlier builds' build stages; the build's time and the images' sizes go to the
        timings."""
        BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
        with BUILD_LOCK.open("a") as lock:
            begin = time.monotonic()
            fcntl.flock(lock, fcntl.LOCK_EX)
            if time.monotonic() - begin > 1:
                self.timings["waiting for another build"] = time.monotonic() - begin
            previous = {image: self.image_id(image) for image in IMAGES.values()}
            begin = time.monotonic()
            self.compose("build", *IMAGES, timeout=1800)
            self.timings["image build"] = time.monotonic() - begin
            for image, previous_id in previous.items():
                if previous_id and previous_id != self.image_id(image):
                    # Now untagged; a container of another stack may still run it, then it stays.
                    self.engine_run("image", "rm", previous_id, check=False)
            self.remove_earlier_build_stages()
        for image in IMAGES.values():
            size = self.engine_run("image", "inspect", "--format", "{{.Size}}", image).strip()
            self.timings[f"{image.split(':')[0]} MB"] = int(size) / 1e6

    def remove_earlier_build_stages(self) -> None:
        """Remove the untagged build-stage images of earlier builds (the Dockerfile labels them), newest kept."""
        listed = self.engine_run(
            "images", "--filter", "dangling=true", "--filter", "label=gaai.stage=build", "--format", "{{.ID}}"
        ).split()
        for stage in listed[1:]:  # newest first; the newest is the layer cache of the next build
            self.engine_run("image", "rm", stage, check=False)

    def long_running(self) -> dict[str, int]:
        """Services that run until stopped (in no profile), with their replicas, from the files as compose merges
        them (a later file's service extends an earlier one's)."""
        found: dict[str, int] = {}
        profiled: set[str] = set()
        for path in self.files:
            for name, service in yaml.safe_load(path.read_text())["services"].items():
                service = service or {}
                if service.get("profiles"):
                    profiled.add(name)
                replicas = (service.get("deploy") or {}).get("replicas")
                found[name] = int(replicas) if replicas is not None else found.get(name, 1)
        return {name: replicas for name, replicas in found.items() if name not in profiled}

    def containers(self) -> list[Container]:
        ids = self.engine_run("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.project}").split()
        if not ids:
            return []
        found = []
        for info in json.loads(self.engine_run("inspect", *ids)):
            health = info["State"].get("Health") or info["State"].get("Healthcheck") or {}
            found.append(
                Container(
                    id=info["Id"],
                    name=info["Name"].lstrip("/"),
                    service=info["Config"]["Labels"].get("com.docker.compose.service", ""),
                    hostname=info["Config"]["Hostname"],
                    status=info["State"]["Status"],
                    health=health.get("Status") or None,
                    pid=info["State"]["Pid"],
                    started_at=info["State"]["StartedAt"],
                    restarts=info.get("RestartCount", 0),
                )
            )
        return found

    def service_containers(self, service: str) -> list[Container]:
        return sorted((c for c in self.containers() if c.service == service), key=lambda c: c.name)

    def unhealthy(self) -> dict[str, str]:
        """Long-running containers that are not running and healthy, by name: status/health."""
        expected = self.long_running()
        containers = self.containers()
        seen = {service: 0 for service in expected}
        state = {}
        for container in containers:
            if container.service in expected:
                seen[container.service] += 1
                if (container.status, container.health) != ("running", "healthy"):
                    state[container.name] = f"{container.status}/{container.health}"
        for service, replicas in expected.items():
            if seen[service] != replicas:
                state[service] = f"{seen[service]} of {replicas} containers"
        return state

    def wait_healthy(self, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while state := self.unhealthy():
            if time.monotonic() > deadline:
                logs = self.compose("logs", "--tail", "20", check=False)
                raise AssertionError(f"{what}: not healthy within {timeout} s: {state}\n{logs.stdout[-6000:]}")
            time.sleep(1)

    def volume_path(self, volume: str) -> Path:
        """Where the project's named ``volume`` is on this host."""
        mountpoint = self.engine_run("volume", "inspect", "--format", "{{.Mountpoint}}", f"{self.project}_{volume}")
        return Path(mountpoint.strip())

    def down(self, check: bool = True) -> None:
        """``down -v`` of every service, the on-demand ones included: containers, volumes and networks."""
        self.compose("--profile", "tools", "down", "-v", "--timeout", "10", check=check)

    def assert_gone(self) -> None:
        """No container, volume or network of the project is left."""
        label = f"label=com.docker.compose.project={self.project}"
        assert self.engine_run("ps", "-a", "-q", "--filter", label).split() == []
        volumes = self.engine_run("volume", "ls", "-q").split()
        assert [v for v in volumes if v.startswith(f"{self.project}_")] == []
        networks = self.engine_run("network", "ls", "--format", "{{.Name}}").split()
        assert [n for n in networks if n.startswith(f"{self.project}_")] == []


class HealthcheckDriver:
    """Runs each long-running container's healthcheck every few seconds, which podman leaves to systemd timers."""

    def __init__(self, project: ComposeProject, interval: float = 3.0) -> None:
        self.project, self.interval = project, interval
        self.services = set(project.long_running())
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                containers = self.project.containers()
            except AssertionError:
                continue  # a container went away between listing and inspecting it (compose down): next round
            for container in containers:
                if container.status == "running" and container.service in self.services:
                    subprocess.run(
                        [self.project.engine, "healthcheck", "run", container.id], capture_output=True, timeout=30
                    )

    def __enter__(self) -> HealthcheckDriver:
        if self.project.engine == "podman":
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=60)


@contextmanager
def running(project: ComposeProject, pytestconfig: pytest.Config, title: str, up_timeout: float) -> Iterator[None]:
    """``project`` built, up and healthy, with its healthchecks driven, for a module's tests; then down with its
    volumes unless a test took it down, and a line ``title (engine, compose command): timings; notes`` printed."""
    started = time.monotonic()
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")  # the timings line shows with -q too
    try:
        if project.containers():  # left by an interrupted run of a fixed project name
            project.down(check=False)
        project.build_images()
        begin = time.monotonic()
        project.compose("up", "-d", "--no-build")
        project.timings["up -d"] = time.monotonic() - begin
        with HealthcheckDriver(project):
            project.wait_healthy(up_timeout, "after up")
            project.timings["up -d to all healthy"] = time.monotonic() - begin
            yield
    finally:
        if "down -v" not in project.timings:  # the last test did not get to it
            project.down(check=False)
        project.timings["whole module"] = time.monotonic() - started
        timings = ", ".join(
            f"{name} {value:.1f}{'' if name.endswith(' MB') else ' s'}" for name, value in project.timings.items()
        )
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(
                f"{title} ({project.engine}, {shlex.join(project.compose_command)}): {timings}"
                + "".join(f"; {note}" for note in project.notes)
            )
