"""``translate eval`` for a checkpoint: translate the test split with the model contract (``translator(target)`` for
each direction or target domain), write the translations as PNG, score them against the target's real test images
under a named protocol (translate.evaluation), and add the model's own metrics (``ReportsOwnMetrics``).

As the CUT protocol has it: each source test image is resized to ``fake_size`` x ``fake_size`` (the data's
``crop_size``, 256 for horse2zebra), without crop or flip, and translated; the reals are the target domain's test
files at their own size, which the library reads as they are. The translation is predict's, from one translation
plan (inference/plan.py): at the scale ``scale_side`` chooses (TraVeLGAN: resized so the shorter side is the run's
``load_size``, translated, resized back to ``fake_size``; CycleGAN: the ``fake_size`` pixels themselves).
"""

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from translate import __version__
from translate.data.datamodule import ImageDataModule
from translate.data.image_writer import write_image
from translate.evaluation.folders import load_extractor, protocol_named, scores_with
from translate.evaluation.references import reference_scores, require_reference
from translate.evaluation.report import EvalReport, Scores
from translate.evaluation.scoring import warn_if_biased
from translate.inference.options import ScaleChoice
from translate.inference.plan import Translation, TranslationPlan, plan_each_target
from translate.models.contract import DIRECTION_DOMAINS, TranslationModel

log = logging.getLogger(__name__)
LINKED_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}  # every protocol's library reads these


@dataclass(frozen=True)
class ScoredSplit:
    """One target to score: the test images translated to it (``sources``, resized) and its real test images: their
    files, or for paired data the targets' halves at their own size (``real_images``)."""

    target: str
    sources: list[Dataset]  # items: (C, S, S) images in [-1, 1] (a pair's first half for paired data)
    real_files: list[Path] | None
    real_images: Dataset | None = None


@dataclass(frozen=True)
class EvalOptions:
    """How ``evaluate_model`` measures: the protocol, the extractor (Inception ``weights`` or a ``feature`` module),
    the translation size (None: the data's ``crop_size``), the scale it is translated at (predict's ``--scale``), KID's
    subset size (None: chosen from the set sizes)."""

    protocol: str = "cut"
    weights: str | Path | None = None
    feature: nn.Module | None = None
    device: str = "cpu"
    batch_size: int = 8
    fake_size: int | None = None
    scale: ScaleChoice = "auto"
    kid_subset: int | None = None
    overwrite: bool = False


def evaluate_model(
    model: TranslationModel,
    data: ImageDataModule,
    output_dir: str | Path,
    *,
    targets: list[str] | None = None,
    options: EvalOptions = EvalOptions(),  # noqa: B008 (frozen: shared safely)
    source: dict | None = None,
) -> EvalReport:
    """Translate ``data``'s test split to each of ``targets`` (default: all the model translates) into
    ``output_dir/<target>/fake``, link the target's real test files into ``output_dir/<target>/real``, and score."""
    protocol = protocol_named(options.protocol)
    # the extractor first: missing weights fail before anything is translated
    extractor, weights = load_extractor(protocol, weights=options.weights, feature=options.feature,
                                        device=options.device)  # fmt: skip
    fake_size = _fake_size(model, data, options.fake_size)
    plan = plan_each_target(model, targets, options.scale)  # predict's scale: the fake_size pixels, or resized
    scores = []
    for translation, split in zip(plan.translations, split_translations(plan, data, fake_size), strict=True):
        folder = _fresh(Path(output_dir) / translation.folder, options.overwrite)
        fake, real = folder / "fake", folder / "real"
        _write_translations(plan, translation, split.sources, fake, options.batch_size)
        _write_reals(split, real)
        scores.append(scores_with(protocol, extractor, real, fake, device=options.device, kid_subset=options.kid_subset,
                                  batch_size=50, target=translation.target))  # fmt: skip
    at = f"training: shorter side resized to {plan.scale_to} (bilinear), and back" if plan.scale_to else "native"
    settings = {**protocol.settings(weights, options.feature), "fake_size": str(fake_size), "scale": at,
                "fakes": f"test split resized to {fake_size}x{fake_size} (bicubic; area when shrinking), no crop or "
                "flip, translated at the scale, written as PNG",
                "reals": "the target's test files at their own size"}  # fmt: skip
    warnings = [f"{s.target}: FID from {s.n_fake} translations is biased upwards" for s in scores
                if warn_if_biased(min(s.n_fake, s.n_real), f" ({s.target})")]  # fmt: skip
    own = own_metrics(model, data, options.device)
    return EvalReport(settings, {**(source or {}), "model": type(model).__name__}, scores, own, warnings)


def split_translations(plan: TranslationPlan, data: ImageDataModule, fake_size: int) -> list[ScoredSplit]:
    """What each of the plan's targets is scored on: for a direction, the source domain's test images against the
    target domain's; for a target domain, every other domain's test images against its own; for paired data, the
    inputs' halves against the targets' (at their own size: they have no file of their own)."""
    targets = [translation.target for translation in plan.translations]
    test = data.test_images(fake_size)  # the data says what its test split is: files per domain, or pairs
    native = data.test_images(None).images if test.files is None else None

    def translation(target: str, sources: list[int], real: int) -> ScoredSplit:
        files = None if test.files is None else test.files[real]
        return ScoredSplit(target, [test.images[i] for i in sources], files, None if native is None else native[real])

    if plan.model.target_kind == "direction":
        return [translation(t, [DIRECTION_DOMAINS[t][0]], DIRECTION_DOMAINS[t][1]) for t in targets]
    domains = list(data.spec.domains)
    return [translation(t, [i for i, d in enumerate(domains) if d != t], domains.index(t)) for t in targets]


def _fake_size(model: TranslationModel, data: ImageDataModule, requested: int | None) -> int:
    size = data.crop_size if requested is None else requested
    if size < model.min_side or size % model.size_multiple:
        raise ValueError(f"--fake-size {size}: {type(model).__name__} translates sides that are multiples of "
                         f"{model.size_multiple} and at least {model.min_side}; pick one")  # fmt: skip
    return size


def _fresh(folder: Path, overwrite: bool) -> Path:
    """``folder`` for this run's images: refused when it holds a previous run's, unless ``overwrite`` (emptied)."""
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{folder} holds a previous evaluation; pass --overwrite (it is emptied) or choose "
                                  "another --output")  # fmt: skip
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@torch.inference_mode()
def _write_translations(
    plan: TranslationPlan, translation: Translation, sources: list[Dataset], folder: Path, batch_size: int
) -> None:
    """Every source image translated as predict translates it (``plan.resized``), as
    ``folder/<source index>_<index>.png`` (lossless: the protocol's format)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, dataset in enumerate(sources):
        for start in range(0, len(dataset), batch_size):
            indices = range(start, min(start + batch_size, len(dataset)))
            images = torch.stack([dataset[i] for i in indices]).to(plan.model.device)
            translations = plan.resized(translation, images)
            for index, image in zip(indices, translations, strict=True):
                write_image(image, folder / f"{number}_{index:05d}.png")


def _write_reals(translation: ScoredSplit, folder: Path) -> None:
    """The real images as the library will read them: links to the files (their own bytes), or PNGs of paired data's
    target halves and of formats some library does not read."""
    folder.mkdir(parents=True, exist_ok=True)
    if translation.real_files is None:
        reals = translation.real_images
        for index in range(len(reals)):
            write_image(reals[index], folder / f"{index:05d}.png")
        return
    for index, path in enumerate(translation.real_files):
        suffix = path.suffix.lower()
        if suffix in LINKED_EXTENSIONS:
            (folder / f"{index:05d}_{path.stem}{suffix}").symlink_to(path.resolve())
        else:
            with Image.open(path) as image:
                image.convert("RGB").save(folder / f"{index:05d}_{path.stem}.png")


@torch.inference_mode()
def own_metrics(model: TranslationModel, data: ImageDataModule, device: str) -> dict[str, float]:
    """The model's own metrics over the data module's test batches (its evaluation pipeline), weighted by batch size;
    none when its first batch reports none (a model without metrics of its own, ``ReportsOwnMetrics``)."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for index, batch in enumerate(data.test_dataloader()):
        batch = tuple(part.to(device) for part in batch)
        metrics = model.own_metrics(batch, index)
        if index == 0 and not metrics:
            break
        for name, value in metrics.items():
            totals[name] = totals.get(name, 0.0) + float(value) * len(batch[0])
            counts[name] = counts.get(name, 0) + len(batch[0])
    return {name: totals[name] / counts[name] for name in totals}


def folder_report(
    real: str | Path,
    fake: str | Path,
    *,
    options: EvalOptions = EvalOptions(),  # noqa: B008 (frozen)
) -> EvalReport:
    """``translate eval --real DIR --fake DIR``: two folders made by anything, scored under the protocol."""
    protocol = protocol_named(options.protocol)
    for folder in (real, fake):
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"{folder} is not a folder of images")
    extractor, weights = load_extractor(protocol, weights=options.weights, feature=options.feature,
                                        device=options.device)  # fmt: skip
    scores: Scores = scores_with(protocol, extractor, Path(real), Path(fake), device=options.device,
                                 batch_size=50, kid_subset=options.kid_subset, target="-")  # fmt: skip
    biased = warn_if_biased(min(scores.n_fake, scores.n_real))
    warnings = [f"FID from {min(scores.n_fake, scores.n_real)} images is biased upwards"] if biased else []
    source = {"real": str(real), "fake": str(fake), "translate": __version__}
    return EvalReport(protocol.settings(weights, options.feature), source, [scores], warnings=warnings)


def reference_report(
    name: str,
    fake: str | Path,
    *,
    options: EvalOptions = EvalOptions(),  # noqa: B008 (frozen)
) -> EvalReport:
    """``translate eval --reference horse2zebra --fake DIR``: translations against clean-fid's precomputed test
    statistics (protocol ``clean`` only: they are clean-fid's features)."""
    if options.protocol != "clean":
        raise ValueError(f"--reference {name} compares with clean-fid's statistics: use --protocol clean")
    if not Path(fake).is_dir():
        raise FileNotFoundError(f"{fake} is not a folder of images")
    require_reference(name)  # before loading Inception: a missing file is one line at once
    protocol = protocol_named("clean")
    extractor, weights = load_extractor(protocol, weights=options.weights, feature=options.feature,
                                        device=options.device)  # fmt: skip
    scores = reference_scores(name, Path(fake), extractor, device=options.device, batch_size=50,
                              kid_subset=options.kid_subset)  # fmt: skip
    biased = warn_if_biased(min(scores.n_fake, scores.n_real))
    warnings = [f"FID from {min(scores.n_fake, scores.n_real)} images is biased upwards"] if biased else []
    settings = {**protocol.settings(weights, options.feature), "reals": f"clean-fid's precomputed {name} test set"}
    source = {"reference": name, "fake": str(fake), "translate": __version__}
    return EvalReport(settings, source, [scores], warnings=warnings)
