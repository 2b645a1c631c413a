#!/usr/bin/env bash
# Build a local stand-in for the pytorch/pytorch:*-cuda*-cudnn*-runtime base image, for machines that reach Debian's
# and PyPI's mirrors but no image registry (see docs/docker.md). Two images come out:
#   debian-python:bookworm   a minimal Debian bookworm (debootstrap) with python3, venv and pip, made by `docker import`
#   translate-base:local     that plus torch and torchvision from local wheels in a venv at /opt/conda, whose bin/ is
#                            on PATH, so `python` and `pip` resolve as in the official image (conda at /opt/conda)
# Then: docker build --network host --build-arg BASE_IMAGE=translate-base:local -t translate:local .
#
# Needs root, docker (a running dockerd), debootstrap, and the torch/torchvision wheels for CPython 3.11 (bookworm's
# python3). pip in the image trusts the host's CA bundle (copied in), so a TLS-intercepting proxy works as on the host.
# Environment (defaults in brackets):
#   WORK      scratch folder for the root file system and the build context [/tmp/translate-base]
#   WHEELS    folder holding the wheels [/opt/pypi-more/files]
#   TORCH     torch version [2.14.1];  TORCHVISION  torchvision version [0.29.1]
#   MIRROR    Debian mirror [http://deb.debian.org/debian]
#   CA_BUNDLE the host's CA bundle [/etc/ssl/certs/ca-certificates.crt]
#   KEEP=1    keep WORK afterwards (removed by default: the root file system is ~400 MB)
set -euo pipefail

WORK=${WORK:-/tmp/translate-base}
WHEELS=${WHEELS:-/opt/pypi-more/files}
TORCH=${TORCH:-2.14.1}
TORCHVISION=${TORCHVISION:-0.29.1}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

rootfs=$WORK/rootfs
context=$WORK/context
[[ $EUID -eq 0 ]] || { echo "run as root (debootstrap and docker import need it)" >&2; exit 1; }
shopt -s nullglob
torch_whl=("$WHEELS"/torch-"$TORCH"-cp311-*.whl)
vision_whl=("$WHEELS"/torchvision-"$TORCHVISION"-cp311-*.whl)
[[ ${#torch_whl[@]} -eq 1 && ${#vision_whl[@]} -eq 1 ]] || {
    echo "need exactly one torch-$TORCH and one torchvision-$TORCHVISION cp311 wheel in $WHEELS" >&2
    exit 1
}
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$WORK"' EXIT

# 1. A minimal Debian with python3 (3.11 on bookworm), venv and pip, imported as an image.
if ! docker image inspect debian-python:bookworm >/dev/null 2>&1; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" "$MIRROR"
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
    tar -C "$rootfs" --numeric-owner -c . | docker import \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - debian-python:bookworm
    rm -rf "$rootfs"
fi

# 2. torch and torchvision from the local wheels (their other requirements, CUDA libraries included, from PyPI) in a
#    first stage; only the installed venv is copied into the final image, not a layer of wheels.
rm -rf "$context" && mkdir -p "$context/wheels"
cp "${torch_whl[0]}" "${vision_whl[0]}" "$context/wheels/"
cp "$CA_BUNDLE" "$context/ca-certificates.crt"
cat >"$context/Dockerfile" <<DOCKERFILE
FROM debian-python:bookworm AS install
LABEL translate-base-stage=install
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY wheels /wheels
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/conda \\
    && /opt/conda/bin/pip install /wheels/$(basename "${torch_whl[0]}") /wheels/$(basename "${vision_whl[0]}")

FROM debian-python:bookworm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=install /opt/conda /opt/conda
ENV PATH=/opt/conda/bin:\$PATH \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
RUN python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
DOCKERFILE
docker build --network host -t translate-base:local "$context"
docker image prune -f --filter label=translate-base-stage=install >/dev/null  # the install stage (~6 GB)
docker image ls translate-base:local
