"""``translate fit|validate|test``: LightningCLI (translate.training.cli); translate's own errors end in one line."""

import os
import sys
from pathlib import Path

from translate.training.cli import run_cli

PACKAGE = Path(__file__).resolve().parent.parent
# Only settings that cannot name a model: anything else (a typo such as --confg) is jsonargparse's to name.
SETTINGS_WITHOUT_A_MODEL = ("--trainer", "--data", "--seed_everything", "--ckpt_path", "--optimizer", "--lr_scheduler")


def main(argv: list[str]) -> None:
    """``translate fit|validate|test ...``: our own errors end the run in one line (TRANSLATE_DEBUG=1: traceback)."""
    options = [a for a in argv[1:] if a.startswith("-")]
    if all(a.startswith(SETTINGS_WITHOUT_A_MODEL) for a in options):
        sys.exit(
            f"translate {argv[0]}: error: no model given; pass --config FILE (for example configs/quickstart.yaml), "
            f"or --model CLASS and its options (`translate {argv[0]} --help`)"
        )
    check_config_files(argv)
    try:
        # sys.argv itself when run as `translate ...`: LightningCLI warns when given args beside a command line
        run_cli(None if argv == sys.argv[1:] else argv)
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError, OSError) as error:
        if not _raised_by_translate(error) or os.environ.get("TRANSLATE_DEBUG"):
            raise  # someone else's error (a bug to report): keep the whole traceback
        sys.exit(f"translate {argv[0]}: error: {error}  (TRANSLATE_DEBUG=1 shows the traceback)")


def check_config_files(argv: list[str]) -> None:
    """Each ``--config FILE`` that is not valid YAML ends the run in one line naming the file, the line and the
    problem (jsonargparse says "Problems parsing config: while parsing a flow node", and not which file)."""
    import yaml

    values = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"]
    values += [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
    for value in values:
        path = Path(value)
        if not path.is_file():
            continue  # jsonargparse names a missing file, and takes inline YAML too
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            sys.exit(f"translate {argv[0]}: error: --config {value} is not valid YAML ({where}{problem}); "
                     "fix it, or start from a shipped config (configs/)")  # fmt: skip


def _raised_by_translate(error: BaseException) -> bool:
    """Whether the innermost frame that raised ``error`` is this package's code: our messages are complete."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and Path(traceback.tb_frame.f_code.co_filename).is_relative_to(PACKAGE)
