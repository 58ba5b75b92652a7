# One image for every container role of batchml:
#   local run:        batchml demo ... / batchml run SPEC        (docker-compose.yml)
#   Fargate task:     batchml-task --spec SPEC train|predict ... (ECS task definition command)
#   Lambda function:  python -m awslambdaric entrypoints.lambda_handlers.<stage>  (image_config in Terraform)
#
# Written for the classic builder too: docker-compose v1 and a docker CLI without buildx build
# with it, so no BuildKit-only syntax (RUN --mount, heredocs). For Lambda, build a plain image
# manifest: with buildx pass `--provenance=false`, Lambda rejects attestation manifest lists.
#
# Layers, from the bottom: base image; the dependencies' virtualenv (~550 MB, rebuilt only when
# pyproject.toml changes); the project itself (~1 MB). A code change therefore rebuilds in
# seconds and pushes, and Fargate pulls, one small layer, not the whole environment.

# ---- deps: a virtualenv at /opt/venv holding the dependencies only --------------------------------
FROM python:3.11-slim AS deps

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv

# From pyproject.toml alone, so editing the source never invalidates this (slow) layer: the
# dependencies (boto3 included: the image also serves the AWS roles) plus the optional extras
# named in BATCHML_EXTRAS that pyproject defines (a missing one is reported and skipped), plus
# awslambdaric for the Lambda role; versions as constraints.txt pins them (what the tests ran).
# Every one ships manylinux wheels for CPython 3.11: --only-binary makes a missing wheel fail the
# build loudly instead of trying to compile with tools the image lacks.
# The libraries' own test suites (numpy, scipy, pandas, scikit-learn, pyarrow: ~110 MB with their
# bytecode) are never imported at run time. setuptools leaves the venv (nothing builds here);
# pip stays, to install the project's wheel in the runtime stage (the base image has a pip anyway).
ARG BATCHML_EXTRAS=""
COPY pyproject.toml constraints.txt /tmp/
RUN python3 -c 'import os, sys, tomllib; \
project = tomllib.load(open("/tmp/pyproject.toml", "rb"))["project"]; \
extras = project.get("optional-dependencies", {}); wanted = os.environ["BATCHML_EXTRAS"].split(); \
missing = [e for e in wanted if e not in extras]; \
print(f"pyproject.toml defines no extra {missing}: skipped", file=sys.stderr) if missing else None; \
print("\n".join(project["dependencies"] + [d for e in wanted for d in extras.get(e, [])]))' \
        > /tmp/requirements.txt \
    && cat /tmp/requirements.txt \
    && /opt/venv/bin/pip install --only-binary=:all: -c /tmp/constraints.txt -r /tmp/requirements.txt awslambdaric \
    && /opt/venv/bin/pip uninstall --yes setuptools \
    && find /opt/venv/lib -type d -name tests -prune -exec rm -rf {} + \
    && rm /tmp/requirements.txt /tmp/pyproject.toml /tmp/constraints.txt

# ---- wheel: the project as a wheel, built apart so no build tool reaches the runtime stage --------
FROM python:3.11-slim AS wheel

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# README.m[d] is copied when present (pyproject names it as the long description); a pattern that
# matches nothing is accepted as long as another source of the same COPY matches.
COPY pyproject.toml README.m[d] ./
COPY domain/ domain/
COPY adapters/ adapters/
COPY entrypoints/ entrypoints/
COPY examples/ examples/
RUN python3 -m pip wheel --no-deps --wheel-dir /wheels .

# ---- runtime: base image + venv + project + an unprivileged user -----------------------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="batchml" \
      org.opencontainers.image.description="Batch ML over a data lake: local runs, Fargate tasks and Lambda stages"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# LightGBM's wheel links the system's OpenMP runtime (libgomp.so.1), which the slim base lacks
# (scikit-learn bundles its own copy; LightGBM does not). Its own layer, below the venv, so it is
# fetched once, not on every dependency change.
# apt's lists and package caches go with the same layer (80 MB left in it otherwise).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libgomp1 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

# uid 10001: above any host's regular users, so a file it writes is never mistaken for theirs.
# /work is world-writable (sticky, like /tmp) because compose and DockerTaskRunner may run the
# image as the host user's uid instead, and DuckDB spills to ./.tmp under memory pressure.
RUN groupadd --gid 10001 batchml \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /work --shell /usr/sbin/nologin batchml \
    && mkdir -p /work \
    && chmod 1777 /work

COPY --from=deps /opt/venv /opt/venv
# The bytecode pip compiles here, and the dependencies' compiled in the deps stage, stay on
# purpose: the runtime user cannot write to /opt/venv, so without it every task container would
# recompile numpy, pandas, scikit-learn... on each start (measured: the task main's imports take
# ~2.5 s with it, ~5.5 s without). No other cache is left: PYTHONDONTWRITEBYTECODE keeps pip's own
# modules from writing any, --no-cache-dir keeps its cache out.
COPY --from=wheel /wheels/ /tmp/wheels/
RUN pip install --no-deps --no-cache-dir --disable-pip-version-check --root-user-action=ignore /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels

WORKDIR /work
USER 10001:10001
CMD ["batchml", "--help"]
