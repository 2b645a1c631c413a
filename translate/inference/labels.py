"""Predict with label-conditioned models (StarGAN): the targets asked for, ``--attrs`` edits, and the labels each
input starts from (its ``--attr-file`` row, else what the model sees in it)."""

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from translate.data.datasets import read_attributes
from translate.inference.options import OptionError, TranslationOptions
from translate.models.contract import LabelConditioned

# (padded batch, the labels each input starts from or None) -> the panels of each output, side by side
Translator = Callable[[Tensor, Tensor | None], list[Tensor]]


def label_translators(model: LabelConditioned, names: list[str], options: TranslationOptions) -> dict[str, Translator]:
    """One translator per output sub-folder: a sub-folder per target domain of ``names`` (known domains), or "" for
    ``options.attrs`` and for ``options.grid`` (the input, then each of ``names``)."""

    def to(target: str) -> Translator:
        return lambda images, start: [model.translate_to(images, model.changed(start, target))]

    if options.attrs:
        return {"": _with_attrs(model, dict(options.attrs))}
    if options.grid:  # one strip per input: the input, then every target
        return {"": lambda images, start: [images, *(to(t)(images, start)[0] for t in names)]}
    return {t: to(t) for t in names}


def _with_attrs(model: LabelConditioned, attrs: dict[str, float]) -> Translator:
    """Each input's own labels with ``attrs`` applied, in order."""
    check_attrs(model, attrs)
    # Exclusive groups: the member set to 1 switches the others off, so their =0 items have nothing left to do.
    grouped = {model.domains[i] for group in model.groups for i in group}
    steps = [(a, v) for a, v in attrs.items() if v == 1 or a not in grouped]

    def with_attrs(images: Tensor, start: Tensor) -> list[Tensor]:
        labels = start
        for attr, value in steps:
            labels = model.changed(labels, attr, value)
        return [model.translate_to(images, labels)]

    return with_attrs


def check_attrs(model: LabelConditioned, attrs: dict[str, float]) -> None:
    """--attrs fits a multi-label model: known names, and every exclusive group it touches left with one member on."""
    name, domains = model.name, list(model.domains)
    if model.label_mode == "single":
        raise OptionError("{attrs} is for multi-label models; this {name} is single-label (one domain per image): "
                          "use {target_domain} NAME (one of {domains})", name=name, domains=domains)  # fmt: skip
    unknown = [a for a in attrs if a not in domains]
    if unknown:
        raise OptionError("unknown attribute {unknown!r} in {attrs}; this {name} knows {domains}", unknown=unknown[0],
                          name=name, domains=domains)  # fmt: skip
    for group in model.groups:
        members = [domains[i] for i in group]
        on = [m for m in members if attrs.get(m) == 1]
        off = [m for m in members if attrs.get(m) == 0]
        if len(on) > 1:
            raise OptionError("{attrs} sets {on} to 1, but exactly one of the exclusive group {members} is on", on=on,
                              members=members)  # fmt: skip
        if off and not on:
            raise OptionError("{attrs} {off}=0 would leave none of the exclusive group {members} on; set another of "
                              "them to 1 instead", off=off[0], members=members)  # fmt: skip


def attribute_table(attr_file: Path, model: LabelConditioned) -> dict[str, Tensor]:
    """The rows of a CelebA-style attribute file by image name and by stem (a .png made from a .jpg still matches)."""
    if model.label_mode == "single":
        raise OptionError("{attr_file} gives the attributes of multi-label models; this {name} is single-label, "
                          "where {target_domain} sets the whole label", name=model.name)  # fmt: skip
    if not attr_file.is_file():
        raise FileNotFoundError(f"--attr-file {attr_file} not found; give the CelebA-style attribute file")
    names, labels = read_attributes(attr_file, model.domains)
    table = {Path(name).stem: row for name, row in zip(names, labels, strict=True)}
    return table | dict(zip(names, labels, strict=True))  # an exact name wins over a stem


def start_labels(
    model: LabelConditioned, images: Tensor, sizes: list[tuple[int, int]], names: list[str], table: dict[str, Tensor]
) -> Tensor:
    """(B, num_domains) labels each input starts from: its --attr-file row, looked up by file name, else what the
    model's classifier sees in the whole image, once per image (so every tile of it shares one target)."""
    if model.label_mode == "single":  # every target is one-hot whatever the input is
        return images.new_zeros(len(images), len(model.domains))
    rows = []
    for image, (height, width), name in zip(images, sizes, names, strict=True):
        row = table.get(name, table.get(Path(name).stem))
        if row is None and height == 0:  # a file that failed to decode: reported, not written
            row = images.new_zeros(len(model.domains))
        elif row is None:
            row = model.estimate_labels(image[None, :, :height, :width])[0]  # resized to the training size
        rows.append(row.to(images))
    return torch.stack(rows)
