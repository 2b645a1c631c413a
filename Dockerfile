# GPU image for `translate` jobs: docker build -t translate . && docker run --gpus all -v $PWD/data:/data translate \
#   predict --ckpt /data/last.ckpt --input /data/in --output /data/out
# The base image carries CUDA-enabled torch; pip keeps it and adds the rest.
ARG BASE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WANDB_MODE=offline

WORKDIR /opt/translate
COPY pyproject.toml README.md ./
COPY translate ./translate
COPY configs ./configs
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 1000 translate

USER 1000:1000
WORKDIR /work
ENTRYPOINT ["translate"]
CMD ["--help"]
