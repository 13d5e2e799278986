# The platform image: every KFP component and Ray worker runs in it.
#   docker build -t registry.nuri.local/nuri/platform:0.1.0 .
# For an air-gapped cluster, build it where the registries are reachable and push it to
# the internal registry named in the domain config's `cluster.image`.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 VIRTUAL_ENV=/opt/nuri/.venv
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3-pip git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/nuri
COPY requirements.txt constraints.txt ./
COPY infra/requirements.txt infra/requirements.txt
RUN python3.11 -m venv $VIRTUAL_ENV \
    && $VIRTUAL_ENV/bin/pip install "torch==2.13.0" \
    && $VIRTUAL_ENV/bin/pip install -r requirements.txt -c constraints.txt
COPY pyproject.toml README.md ./
COPY nuri nuri
COPY components components
COPY pipelines pipelines
RUN $VIRTUAL_ENV/bin/pip install --no-deps .
ENV PATH=$VIRTUAL_ENV/bin:$PATH

# Least privilege: no root at run time (Pod Security "restricted" in tenant namespaces).
RUN useradd --uid 10001 --create-home nuri
USER 10001
ENTRYPOINT []
