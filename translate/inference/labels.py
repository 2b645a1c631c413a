"""Predict with label-conditioned models (StarGAN): the targets asked for, ``--attrs`` edits, and the labels each
input starts from (its ``--attr-file`` row, else what the model sees in it)."""

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from translate.data.datasets import read_attributes
from translate.models.contract import LabelConditioned

# (padded batch, the labels each input starts from or None) -> the panels of each output, side by side
Translator = Callable[[Tensor, Tensor | None], list[Tensor]]


def label_translators(
    model: LabelConditioned, targets: Sequence[str] | None, attrs: dict[str, float] | None, grid: bool
) -> dict[str, Translator]:
    """One translator per output sub-folder: a sub-folder per target domain, or "" for ``attrs`` and ``grid``."""
    name, domains = type(model).__name__, list(model.domains)
    if not (targets or attrs or grid):
        raise ValueError(f"{name} needs --target-domain NAME (repeatable, or all), --attrs or --grid; its domains "
                         f"are {domains}")  # fmt: skip
    if attrs and (targets or grid):
        raise ValueError("--attrs sets one target; use it without --target-domain and --grid")
    names = domains if not targets or list(targets) == ["all"] else list(targets)
    unknown = [t for t in names if t not in domains]
    if unknown:
        raise ValueError(f"unknown --target-domain {unknown[0]!r}; this {name} knows {domains} (or all)")

    def to(target: str) -> Translator:
        return lambda images, start: [model.translate_to(images, model.changed(start, target))]

    if attrs:
        return {"": _with_attrs(model, attrs)}
    if grid:  # one strip per input: the input, then every target
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
    name, domains = type(model).__name__, list(model.domains)
    if model.label_mode == "single":
        raise ValueError(f"--attrs is for multi-label models; this {name} is single-label (one domain per image): "
                         f"use --target-domain NAME (one of {domains})")  # fmt: skip
    unknown = [a for a in attrs if a not in domains]
    if unknown:
        raise ValueError(f"unknown attribute {unknown[0]!r} in --attrs; this {name} knows {domains}")
    for group in model.groups:
        members = [domains[i] for i in group]
        on = [m for m in members if attrs.get(m) == 1]
        off = [m for m in members if attrs.get(m) == 0]
        if len(on) > 1:
            raise ValueError(f"--attrs sets {on} to 1, but exactly one of the exclusive group {members} is on")
        if off and not on:
            raise ValueError(f"--attrs {off[0]}=0 would leave none of the exclusive group {members} on; set another "
                             "of them to 1 instead")  # fmt: skip


def attribute_table(attr_file: Path, model: LabelConditioned) -> dict[str, Tensor]:
    """The rows of a CelebA-style attribute file by image name and by stem (a .png made from a .jpg still matches)."""
    if model.label_mode == "single":
        raise ValueError("--attr-file gives the attributes of multi-label models; this StarGAN is single-label, "
                         "where --target-domain sets the whole label")  # fmt: skip
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
