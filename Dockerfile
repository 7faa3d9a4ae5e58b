# One image for every gaai process: the orchestrator, each agent, the catalog and the
# `gaai` CLI. compose.yaml picks the process with `command:`; see docs/DEPLOY.md.
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
# tools/containers/check_image.py imports every gaai module and what they import inside functions.
COPY tools/containers/check_image.py /tmp/check_image.py
RUN /opt/gaai/bin/python /tmp/check_image.py
# podman keeps each build's build stage as an untagged image, its layer cache; the label lets
# tests/deploy/test_live_compose.py remove those of earlier builds.
LABEL gaai.stage=build

# ---- runtime: the virtualenv alone (no sources, no build tools), run by a non-root user
FROM python:${PYTHON_VERSION}-slim
RUN groupadd --system --gid 10001 gaai \
 && useradd --system --uid 10001 --gid gaai --create-home --home-dir /home/gaai gaai \
 && mkdir -p /var/lib/gaai /var/cache/gaai/numba \
 && chown gaai:gaai /var/lib/gaai /var/cache/gaai/numba
COPY --from=build /opt/gaai /opt/gaai
# GAAI_HOME holds the embedded graph store and the catalog; compose mounts one shared
# volume there (a named volume starts with this folder's owner, so the user can write it).
# NUMBA_CACHE_DIR holds the execution engine's compiled kernels. numba uses it only if
# the process can create files in it (else it falls back to ~/.cache/numba), so the
# user owns it.
ENV PATH=/opt/gaai/bin:$PATH \
    GAAI_HOME=/var/lib/gaai \
    NUMBA_CACHE_DIR=/var/cache/gaai/numba
USER gaai
# Compile the kernels now, as the user and at the paths the containers have (numba files
# its cache by the engine's installed folder and checks the source, numba's version and
# the CPU), so an execution agent starting in a fresh container loads them instead of
# compiling them for 7.6 s. The code is for the build machine's CPU: on a host with
# another CPU the agent compiles at start, as it did before this step.
RUN python -m gaai.agents.execution.precompile
WORKDIR /home/gaai
CMD ["gaai", "--help"]
