"""The translation plan: from a model under the contract (a checkpoint's, or an ONNX file's) and a front end's options
(``TranslationOptions``) to the translations to make, each with its output sub-folder, its target and its translator,
the scale they are made at and the labels inputs start from.

Predict, serve, eval, export and ``translate.load`` all plan here, from the contract alone, so that an option means
one thing everywhere and a refusal is one message (an ``OptionError``, which each front end spells). A new front end
builds a plan and translates with it: ``plan.translate`` for padded batches of files (predict, serve),
``plan.resized`` for tensors of any size (eval, translate.load), ``plan.only().module`` for the network (export).
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import cast

import torch
from torch import Tensor, nn

from translate.inference.image_files import resize, scaled_size
from translate.inference.labels import Translator, attribute_table, label_translators, start_labels
from translate.inference.options import COMMAND_LINE, OptionError, ScaleChoice, TranslationOptions
from translate.inference.tiling import pad_to_multiple, translate_tiled
from translate.models.contract import LabelConditioned, TranslationModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Translation:
    """One output: its sub-folder ("": the output folder itself), the target it translates to (None: each input's own
    labels changed, ``attrs`` and ``grid``), how a padded batch is translated (``translate(images, start)``: the
    panels of the output, side by side), and for a fixed target the contract's ``translator(target)`` (``module``)."""

    folder: str
    target: str | None
    translate: Translator
    module: nn.Module | None = None


@dataclass(frozen=True)
class TranslationPlan:
    """The translations to make, the shorter side images are resized to first (``scale_to``; None: their own size)
    and the ``attr_file`` rows by image name and stem (``rows``)."""

    model: TranslationModel
    translations: tuple[Translation, ...]
    scale_to: int | None
    rows: Mapping[str, Tensor] = field(default_factory=dict)

    @property
    def folders(self) -> list[str]:
        return [translation.folder for translation in self.translations]

    def only(self) -> Translation:
        """The one translation of a plan for ``one`` (export, translate.load)."""
        (translation,) = self.translations
        return translation

    def start_labels(self, images: Tensor, sizes: list[tuple[int, int]], names: list[str]) -> Tensor | None:
        """The labels (B, domains) each input of a padded batch starts from (label-conditioned models), else None."""
        if self.model.label_mode is None:
            return None
        return start_labels(cast(LabelConditioned, self.model), images, sizes, names, self.rows)

    def translate(
        self,
        images: Tensor,
        sizes: list[tuple[int, int]],
        names: list[str],
        *,
        tile: int | None = None,
        tile_overlap: int = 64,
        dtype: torch.dtype = torch.float32,
    ) -> dict[str, list[Tensor]]:
        """Each output sub-folder's panels (float, (B, C, H', W') each) for a padded batch of images of ``sizes``
        (their size before padding) and file ``names``; in tiles with ``tile``, under autocast to ``dtype``."""
        start = self.start_labels(images, sizes, names)
        device, out = images.device.type, {}
        for translation in self.translations:
            run = partial(translation.translate, start=start)  # one start per image, shared by all its tiles
            with torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
                if tile is None:
                    panels = run(images)
                else:
                    panels = translate_tiled(run, images, tile=tile, overlap=tile_overlap,
                                             multiple=self.model.size_multiple)  # fmt: skip
            out[translation.folder] = [panel.float() for panel in panels]
        return out

    def resized(self, translation: Translation, images: Tensor) -> Tensor:
        """(B, C, H, W) translated by a fixed-target ``translation`` as predict translates a file of that size: its
        shorter side resized to ``scale_to`` (None: kept), padded to the size multiple, translated, cropped and resized
        back to (H, W)."""
        size = tuple(images.shape[-2:])
        height, width = scaled_size(*size, self.scale_to)
        padded = pad_to_multiple(resize(images, (height, width)), self.model.size_multiple)
        (translated,) = translation.translate(padded, None)
        return resize(translated[..., :height, :width], size)


def plan_translations(model: TranslationModel, options: TranslationOptions = TranslationOptions()) -> TranslationPlan:  # noqa: B008 (frozen)
    """The translations ``options`` ask of ``model``: a direction into the output folder itself; a sub-folder per
    target domain; for a label-conditioned model (unless ``options.one``) its inputs' own labels changed to each
    target, to ``attrs``, or a ``grid`` strip. Refusals are ``OptionError``s naming what the model offers."""
    if model.label_mode is not None and not options.one:
        translations = _label_translations(model, options)
    elif model.target_kind == "domain":
        translations = _domain_translations(model, options)
    else:
        translations = _direction_translations(model, options)
    rows = _attribute_rows(model, options.attr_file)
    return TranslationPlan(model, tuple(translations), scale_side(model, options.scale), rows)


def plan_each_target(
    model: TranslationModel, targets: Sequence[str] | None = None, scale: ScaleChoice = "auto"
) -> TranslationPlan:
    """Each of ``targets`` (default: every one the model translates to) into a sub-folder of its name, with the
    contract's ``translator`` (a StarGAN's fixed one-hot label), at predict's scale: what ``translate eval`` scores."""
    names = list(targets) if targets else list(model.targets)
    unknown = [target for target in names if target not in model.targets]
    if unknown:
        raise OptionError("{name} translates to {offered}, not {value!r}", name=model.name,
                          offered=list(model.targets), value=unknown[0])  # fmt: skip
    return TranslationPlan(model, tuple(_fixed(model, name, name) for name in names), scale_side(model, scale))


def scale_side(model: TranslationModel, scale: str) -> int | None:
    """The shorter side images are resized to before translation, or None for their own size: the one rule predict,
    serve, eval and translate.load translate by."""
    if scale not in ("auto", "native", "training"):
        raise OptionError("{scale} must be auto, native or training, got {value!r}", value=scale)
    wanted = model.translates_at if scale == "auto" else scale
    if wanted == "native":
        return None
    if model.training_size is None:
        if scale == "training":
            raise OptionError("{scale} training needs the size {name} was trained at, which this checkpoint does not "
                              "record (a custom training pipeline or imported weights); use {scale} native",
                              name=model.name)  # fmt: skip
        log.warning("translating at the input's own scale: this checkpoint does not record its training size")
        return None
    return model.training_size


def _fixed(model: TranslationModel, folder: str, target: str) -> Translation:
    module = model.translator(target)
    return Translation(folder, target, lambda images, start: [module(images)], module)


def _direction_translations(model: TranslationModel, options: TranslationOptions) -> list[Translation]:
    if options.targets or options.attrs or options.grid:
        raise OptionError("{target_domain}, {attrs} and {grid} are for StarGAN checkpoints; this is {name}: use "
                          "{direction}", name=model.name)  # fmt: skip
    direction = options.direction or model.targets[0]
    if direction not in model.targets:
        raise _unknown(model, "direction", direction, options.one)
    return [_fixed(model, "", direction)]


def _domain_translations(model: TranslationModel, options: TranslationOptions) -> list[Translation]:
    if options.attrs or options.grid:
        raise OptionError("{attrs} and {grid} are for label-conditioned models (a StarGAN checkpoint); {name} takes "
                          "{target_domain}", name=model.name)  # fmt: skip
    if not options.targets and len(model.targets) > 1:
        raise OptionError("{name} needs {target_domain} NAME{more}; its domains are {domains}", name=model.name,
                          more="" if options.one else " (repeatable, or all)", domains=list(model.targets))  # fmt: skip
    return [_fixed(model, name, name) for name in _domain_names(model, options.targets or model.targets, options.one)]


def _label_translations(model: TranslationModel, options: TranslationOptions) -> list[Translation]:
    if not (options.targets or options.attrs or options.grid):
        raise OptionError("{name} needs {target_domain} NAME (repeatable, or all), {attrs} or {grid}; its domains are "
                          "{domains}", name=model.name, domains=list(model.targets))  # fmt: skip
    if options.attrs and (options.targets or options.grid):
        raise OptionError("{attrs} sets one target; use it without {target_domain} and {grid}")
    names = _domain_names(model, options.targets or ["all"], one=False)
    translators = label_translators(cast(LabelConditioned, model), names, options)
    return [Translation(folder, folder or None, translate) for folder, translate in translators.items()]


def _domain_names(model: TranslationModel, targets: Sequence[str], one: bool) -> list[str]:
    """``targets`` checked against the model's (``all``: every one, unless ``one``)."""
    names = list(model.targets) if list(targets) == ["all"] and not one else list(targets)
    for name in names:
        if name not in model.targets:
            raise _unknown(model, "target_domain", name, one)
    return names


def _unknown(model: TranslationModel, option: str, value: str, one: bool) -> OptionError:
    """The refusal of a direction or target domain the model does not translate to."""
    if model.source == "onnx":  # an exported file holds one translation: say how to export another
        export = f"translate export {COMMAND_LINE[option]} {{value}}"  # a command line wherever it is shown
        return OptionError("{name} holds one translation ({held}), not {value}; export it with " + export,
                           name=model.name, held=model.targets[0], value=value)  # fmt: skip
    if option == "direction":
        return OptionError("{direction} must be one of {offered}, got {value!r}", offered=tuple(model.targets),
                           value=value)  # fmt: skip
    return OptionError("unknown {target_domain} {value!r}; this {name} knows {offered}{all}", value=value,
                       name=model.name, offered=list(model.targets), all="" if one else " (or all)")  # fmt: skip


def _attribute_rows(model: TranslationModel, attr_file: str | Path | None) -> dict[str, Tensor]:
    if attr_file is None:
        return {}
    if model.label_mode is None:
        raise OptionError("{attr_file} is for StarGAN checkpoints (--ckpt); this is {name}", name=model.name)
    return attribute_table(Path(attr_file), cast(LabelConditioned, model))
