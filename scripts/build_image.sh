#!/usr/bin/env bash
# Build the project image: the compose image and the Fargate/Lambda image are one and the same.
# Usage: scripts/build_image.sh [extra `docker build` arguments]; image name from $BATCHML_IMAGE.
# Fast when only the source changed: the dependency layer is cached apart from it.
# (A docker CLI without the buildx plugin prints a "legacy builder is deprecated" notice and
# builds with the classic builder; the Dockerfile is written to work with both.)
set -euo pipefail
cd "$(dirname "$0")/.."
exec docker build --tag "${BATCHML_IMAGE:-batchml:latest}" "$@" .
