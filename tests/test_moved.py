"""Module paths of 0.1 (before the role packages) still import, as the new modules, with a warning naming them."""

import importlib
import sys
from pathlib import Path

import pytest
import yaml

from translate.moved import MOVED

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_module_path_gives_the_new_objects(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new.split()[0]}"):
        module = importlib.import_module(old)
    for target in new.split():
        public = [name for name in vars(importlib.import_module(target)) if not name.startswith("_")]
        assert public and all(
            getattr(module, name) is getattr(importlib.import_module(target), name) for name in public
        )
    with pytest.raises(AttributeError, match="moved to"):
        module.no_such_name  # noqa: B018


def test_what_0_1_readme_imported_still_imports():
    from translate.export import OnnxTranslator, export  # noqa: F401
    from translate.predict import load_model, predict_folder  # noqa: F401


def test_a_config_naming_old_class_paths_still_trains(tiny_domains, tmp_path):
    from translate.cli import main

    old_callbacks = {"trainer": {"callbacks": [
        {"class_path": "translate.callbacks.StepSeed"},
        {"class_path": "translate.callbacks.SampleGrid", "init_args": {"num_images": 2}},
    ]}}  # fmt: skip
    overlay = tmp_path / "old_paths.yaml"
    overlay.write_text(yaml.safe_dump(old_callbacks))
    configs = [CONFIGS / "quickstart_official.yaml", CONFIGS / "debug.yaml", overlay]
    main(["fit", *(f"--config={c}" for c in configs), f"--data.source.root={tiny_domains}",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    assert len(list((tmp_path / "run" / "samples").glob("*.png"))) >= 2  # SampleGrid ran: before and after
