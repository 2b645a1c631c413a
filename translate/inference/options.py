"""What a front end asks the translation plan for (``TranslationOptions``), and how a refusal names its options.

A refusal is an ``OptionError``: its message names options as placeholders (``{direction}``, ``{target_domain}``,
...), so each front end spells them its own way: ``--target-domain`` on the command line and in Python (the default),
``target_domain`` for the server's request parameters.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ScaleChoice = Literal["auto", "native", "training"]  # --scale: the model's own choice, the input's pixels, training's

# the options as `translate predict` (and eval, export, translate.load's errors) spells them
COMMAND_LINE = {"direction": "--direction", "target_domain": "--target-domain", "attrs": "--attrs", "grid": "--grid",
                "attr_file": "--attr-file", "scale": "--scale"}  # fmt: skip


class OptionError(ValueError):
    """An option that does not fit the model: ``template`` with the option names as placeholders, and ``values``."""

    def __init__(self, template: str, **values: object):
        self.template, self.values = template, values
        super().__init__(self.spelled(COMMAND_LINE))

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each option spelled as ``names`` says (``{"target_domain": "target_domain", ...}``)."""
        return self.template.format(**{**COMMAND_LINE, **names}, **self.values)


@dataclass(frozen=True)
class TranslationOptions:
    """Which translations to make: a ``direction`` (two-domain models; None: the model's first), target domains
    (``targets``, or ``["all"]``), ``attrs`` values and ``grid`` strips (label-conditioned models), an ``attr_file``
    of the inputs' own labels, and the ``scale`` to translate at. ``one``: exactly one translation to a fixed target
    (export and translate.load: no ``all``, ``attrs`` or ``grid``)."""

    direction: str | None = None
    targets: Sequence[str] | None = None
    attrs: Mapping[str, float] | None = None
    attr_file: str | Path | None = None
    grid: bool = False
    scale: ScaleChoice = "auto"
    one: bool = False
