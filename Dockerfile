# GPU image for translate jobs (docs/docker.md): CUDA-enabled torch comes from the base image and is kept; pip adds the
# rest of the requirements and the package from this repository, with the `serve` extra (FastAPI, uvicorn: a few MB)
# so the same image trains, predicts and serves (`serve --host 0.0.0.0`, port 8000).
#   docker build -t translate:latest .
#   docker run --gpus all --ipc=host -v "$PWD/datasets:/data" -v "$PWD/runs:/runs" translate:latest \
#       fit --config configs/apple2orange.yaml
# Inside, the working directory is /workspace: the shipped configs are in configs/, and datasets/ and runs/ (the
# relative paths the configs use) lead to the /data and /runs volumes.
# BASE_IMAGE: any image with python and pip on PATH and torch>=2.3, torchvision>=0.18 installed (see pyproject.toml);
# docs/docker/make-local-base.sh makes a local stand-in where no registry is reachable.
ARG BASE_IMAGE=pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WANDB_MODE=offline \
    HOME=/home/translate

# The base's torch and torchvision are pinned as constraints: a requirement that wanted another torch fails the build
# instead of pulling a second multi-GB copy.
WORKDIR /opt/translate
COPY pyproject.toml README.md ./
COPY translate ./translate
RUN python -c "import importlib.metadata as m; print('\n'.join(f'{p}=={m.version(p)}' for p in ('torch', 'torchvision')))" \
        > /opt/translate/base-torch.txt \
    && pip install --no-cache-dir --constraint /opt/translate/base-torch.txt ".[serve]" \
    && translate --help > /dev/null

# A non-root user (uid 1000). Its home is world-writable (sticky, like /tmp) so that `docker run --user $(id -u):$(id -g)`
# with any host uid still has a writable HOME for wandb's and torch's caches.
RUN useradd --uid 1000 --user-group --no-create-home --home-dir /home/translate --shell /bin/bash translate \
    && mkdir -p /home/translate /data /runs /workspace \
    && chmod 1777 /home/translate \
    && chown translate:translate /data /runs /workspace \
    && ln -s /data /workspace/datasets \
    && ln -s /runs /workspace/runs

WORKDIR /workspace
COPY --chown=translate:translate configs ./configs
COPY --chown=translate:translate datasets/make_fruit.py datasets/make_fruit_basket.py /opt/translate/datasets/
VOLUME ["/data", "/runs"]
EXPOSE 8000

USER 1000:1000
ENTRYPOINT ["translate"]
CMD ["--help"]
