#!/usr/bin/env bash
# Renders the Kubeflow Pipelines manifests the platform applies, for an air-gapped stack
# (nuri:pipelinesManifests set to the output folder), from a local clone of
# github.com/kubeflow/pipelines. Offline for releases whose kustomize tree has no remote
# bases (2.5.0 has none; 2.14 and later pull Argo from GitHub). Needs git and kubectl.
#
#   infra/kfp/render.sh /path/to/kubeflow/pipelines 2.5.0 /srv/nuri/kfp-2.5.0
#
# The output is not committed: it is upstream's content, rendered on the operator's machine.
# The program applies it with the same transformations as the git URLs and refuses a
# rendering whose API server image is not tagged nuri:pipelinesVersion.
set -euo pipefail

repo=${1:?usage: render.sh <kubeflow/pipelines clone> <tag> <output folder>}
tag=${2:?usage: render.sh <kubeflow/pipelines clone> <tag> <output folder>}
out=${3:?usage: render.sh <kubeflow/pipelines clone> <tag> <output folder>}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git -C "$repo" archive "refs/tags/$tag" manifests/kustomize | tar -x -C "$work"
mkdir -p "$out"
# File names as infra/kfp_manifests.py KUSTOMIZE_DIRS expects them.
kubectl kustomize "$work/manifests/kustomize/cluster-scoped-resources" >"$out/cluster-scoped-resources.yaml"
kubectl kustomize "$work/manifests/kustomize/env/platform-agnostic" >"$out/env-platform-agnostic.yaml"
echo "rendered Kubeflow Pipelines $tag into $out; set nuri:pipelinesManifests to $(cd "$out" && pwd)"
