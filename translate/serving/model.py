"""The served model: one request's image checked, decoded and padded as ``translate predict`` does, a batch of them
translated, and the result encoded as predict writes it.

Every step reuses predict's own functions (inference/predict.py, inference/image_files.py, data/image_writer.py), so
that the server's answer for an uploaded file is byte for byte the file ``translate predict`` writes for it.
"""

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from translate.data.image_writer import encode_image
from translate.data.images import extension_names
from translate.inference.image_files import ImageFiles, resize, same_size_batches
from translate.inference.options import OptionError, TranslationOptions

# predict's translation plan: choosing the translators and translating a padded batch must be exactly predict's for
# the served result to equal its file.
from translate.inference.plan import TranslationPlan, plan_translations, scale_side
from translate.models.contract import LabelConditioned, TranslationModel

# how the plan's refusals name the options here: the request's parameters
PARAMETERS = {"direction": "direction", "target_domain": "target_domain", "attrs": "attrs", "grid": "grid"}


class RequestError(ValueError):
    """A request the server refuses: the HTTP status and a one-line reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Translation:
    """Which translation a request asks for (hashable: requests batch together only when theirs are equal)."""

    direction: str | None = None
    target_domain: str | None = None
    attrs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Prepared:
    """An uploaded image as predict's loader gives it: (C, H', W') padded, the size it is translated at, its own
    size (it is resized back to it) and whether predict would write it as JPEG (else PNG)."""

    image: Tensor
    translated_size: tuple[int, int]
    original_size: tuple[int, int]
    jpeg: bool


def parse_attrs(text: str | None) -> tuple[tuple[str, float], ...]:
    """``Blond_Hair=1,Male=0`` -> (("Blond_Hair", 1.0), ("Male", 0.0)), as ``translate predict --attrs`` reads it."""
    values = []
    for item in filter(None, (text or "").split(",")):
        name, sep, value = item.partition("=")
        if not sep or value.strip() not in ("0", "1"):
            raise RequestError(400, f"attrs: expected NAME=0 or NAME=1 items separated by commas, got {item!r}")
        values.append((name.strip(), float(value)))
    return tuple(values)


class ServedModel:
    """A model under the contract (a checkpoint's, or an ``OnnxTranslator``) with what the server needs of it.

    Args:
        max_pixels: Images with more pixels (width x height) are refused with 413 before they are decoded.
    """

    def __init__(self, model: TranslationModel, *, max_pixels: int = 4096 * 4096):
        self.model, self.max_pixels = model, max_pixels
        self.scale_to = scale_side(model, "auto")  # predict's default --scale: the model's own choice
        self.plan = lru_cache(maxsize=64)(self._plan)  # per translation asked for: built once, not per batch

    def info(self) -> dict:
        """What ``GET /info`` answers: enough for a client (and the page) to build its requests."""
        model = self.model
        return {
            "model": type(model).__name__,
            "source": model.source,
            "target_kind": model.target_kind,
            "targets": list(model.targets),
            "label_mode": model.label_mode,
            "attribute_groups": _attribute_groups(model),
            "channels": model.channels,
            "size_multiple": model.size_multiple,
            "min_side": model.min_side,
            "scale_to": self.scale_to,
            "max_pixels": self.max_pixels,
            "device": str(model.device),
            "ema": model.uses_ema,
        }

    def translation(self, direction: str | None, target_domain: str | None, attrs: str | None) -> Translation:
        """The request's parameters checked as predict checks its options (400 naming what the model offers)."""
        translation = Translation(direction or None, target_domain or None, parse_attrs(attrs))
        self.plan(translation)
        return translation

    def _plan(self, translation: Translation) -> TranslationPlan:
        """The translation plan of a request (one translation: no ``all``, no grid), its refusals spelled with the
        request's parameters."""
        model, targets = self.model, (translation.target_domain,) if translation.target_domain else None
        if model.target_kind == "domain" and targets == ("all",):
            raise RequestError(400, f"target_domain all: one translation per request; ask once for each of "
                               f"{list(model.targets)}")  # fmt: skip
        if model.target_kind == "domain" and len(model.targets) > 1 and not (targets or translation.attrs):
            attrs = " or attrs NAME=0|1,..." if model.label_mode == "multi" else ""
            raise RequestError(400, f"{model.name} needs target_domain, one of {list(model.targets)}{attrs}")
        options = TranslationOptions(translation.direction, targets, dict(translation.attrs) or None)
        try:
            return plan_translations(model, options)
        except OptionError as error:
            raise RequestError(400, error.spelled(PARAMETERS)) from None

    def prepare(self, data: bytes) -> Prepared:
        """Check the upload's header (format, pixel count, smallest side), then decode and pad it as predict does."""
        if not data:
            raise RequestError(400, "the request has no image: send the file as the body or as the multipart field "
                               "'image'")  # fmt: skip
        width, height, image_format = _header(data, self.max_pixels)
        if width * height > self.max_pixels:
            raise RequestError(413, f"the image is {width}x{height} = {width * height} pixels, over this server's "
                               f"limit of {self.max_pixels} (serve --max-pixels); resize it")  # fmt: skip
        upload, failures = io.BytesIO(data), {}
        _, padded, originals = same_size_batches([upload], [0], 1, self.model.size_multiple, failures,
                                                 self.scale_to, self.model.min_side)  # fmt: skip
        if failures:  # too small for the generator, or an EXIF block that does not parse
            raise RequestError(400, f"the image cannot be translated: {failures[upload]}")
        files = ImageFiles([upload], self.model.channels, self.model.size_multiple, padded, self.scale_to)
        image, translated_height, translated_width, _, error = files[0]
        if error:
            raise RequestError(400, f"the image does not decode: {error}")
        return Prepared(image, (translated_height, translated_width), originals[0], image_format == "JPEG")

    @torch.inference_mode()
    def translate(self, translation: Translation, batch: list[Prepared]) -> list[Tensor]:
        """Translate images of one padded size together; each comes back (C, H, W) in [-1, 1] at its own size."""
        images = torch.stack([item.image for item in batch]).to(self.model.device)
        sizes = [item.translated_size for item in batch]
        (panels,) = self.plan(translation).translate(images, sizes, ["upload"] * len(batch)).values()
        results = []
        for index, item in enumerate(batch):  # cropped back and resized to the input's size, as predict writes it
            height, width = item.translated_size
            crops = [resize(panel[index][:, :height, :width], item.original_size) for panel in panels]
            results.append(torch.cat(crops, dim=-1).cpu())
        return results

    @staticmethod
    def encode(result: Tensor, jpeg: bool) -> bytes:
        """The bytes predict writes for this translation (``data.image_writer``, predict's own writer)."""
        return encode_image(result, "JPEG" if jpeg else "PNG")


def _attribute_groups(model: TranslationModel) -> list[list[str]]:
    """The exclusive groups of a multi-label model's attributes, by name (the page offers one of each)."""
    if model.label_mode != "multi":
        return []
    labelled = cast(LabelConditioned, model)
    return [[labelled.domains[i] for i in group] for group in labelled.groups]


def _header(data: bytes, max_pixels: int) -> tuple[int, int, str]:
    """Width, height and format from the header alone (no pixels decoded); 415 when Pillow knows no such format."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return *image.size, image.format
    except UnidentifiedImageError:
        raise RequestError(415, f"the body is not an image Pillow can read ({extension_names()})") from None
    except Image.DecompressionBombError as error:  # over twice Pillow's own limit, which is far over ours
        raise RequestError(413, f"the image is over this server's limit of {max_pixels} pixels ({error})") from None
    except Exception as error:  # noqa: BLE001 (a damaged header: any decoder error is the client's file)
        raise RequestError(400, f"the image header does not parse: {type(error).__name__}: {error}") from None
