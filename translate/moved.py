"""Module paths from before the role packages (0.1), kept importable: configs copied from the shipped ones name
``translate.callbacks.SampleGrid``, saved run configs and scripts ``translate.predict.predict_folder``.

An old name imports as a module that forwards every attribute to the modules its contents moved to, with a
DeprecationWarning giving the new path; the classes and functions are the same objects, so a config or a pickle that
names either path gets the same thing.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

MOVED = {
    "translate.images": "translate.data.images",
    "translate.layouts": "translate.data.layouts",
    "translate.datasets": "translate.data.datasets",
    "translate.download": "translate.data.download",
    "translate.callbacks": "translate.training.callbacks",
    "translate.checkpoint_io": "translate.training.checkpoint_io",
    "translate.strategies": "translate.training.strategies",
    "translate.metrics": "translate.training.fid",
    "translate.training_cli": "translate.training.cli",
    "translate.predict": "translate.inference.predict translate.inference.loading",
    "translate.tiling": "translate.inference.tiling",
    "translate.export": "translate.inference.export translate.inference.onnx",
    "translate.api": "translate.inference.api",
    "translate.official": "translate.inference.official",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module it moved to."""

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec):
        targets = MOVED[spec.name].split()
        warnings.warn(f"{spec.name} moved to {' and '.join(targets)}; import that instead", DeprecationWarning, 3)
        modules = [importlib.import_module(target) for target in targets]
        alias = types.ModuleType(spec.name, f"Moved to {', '.join(targets)}.")

        def forward(name: str):
            for module in modules:
                if hasattr(module, name):
                    return getattr(module, name)
            raise AttributeError(f"module {spec.name!r} (moved to {', '.join(targets)}) has no attribute {name!r}")

        alias.__getattr__ = forward
        return alias

    def exec_module(self, module) -> None:
        pass  # the new module ran when it was imported


def install() -> None:
    """Make the old names importable (once)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
