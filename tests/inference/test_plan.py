"""One translation plan (inference/plan.py) for predict, serve, eval, export and translate.load: what each kind of
model makes for the options, the scale, the refusals and how each front end spells them; every model's translator()
refuses a target it does not have."""

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.images import to_tensor, to_uint8
from translate.inference.options import OptionError, TranslationOptions
from translate.inference.plan import plan_each_target, plan_translations
from translate.inference.predict import predict_folder
from translate.serving.model import PARAMETERS

BUILDS = {  # model -> (its fixture, keyword arguments, a target it does not translate to)
    "cyclegan": ("tiny_cyclegan", {}, "c2d"),
    "travelgan": ("tiny_travelgan", {}, "c2d"),
    "one-way travelgan": ("tiny_travelgan", {"bidirectional": False}, "b2a"),
    "stargan": ("tiny_stargan", {}, "purple"),
    "pix2pix": ("tiny_pix2pix", {}, "b2a"),
}


@pytest.mark.parametrize("kind", BUILDS)
def test_translator_refuses_an_unknown_target(request, kind):
    fixture, kwargs, unknown = BUILDS[kind]
    model = request.getfixturevalue(fixture)(**kwargs)
    for target in model.targets:
        assert model.translator(target) is not None
    with pytest.raises(ValueError, match=f"unknown target '{unknown}'"):
        model.translator(unknown)


def test_an_onnx_file_refuses_the_translation_it_does_not_hold(tiny_cyclegan, tmp_path):
    pytest.importorskip("onnxruntime")
    from translate.inference.export import export
    from translate.inference.onnx import OnnxTranslator

    onnx = OnnxTranslator(export(tiny_cyclegan(ema_decay=0.9), tmp_path / "b2a.onnx", direction="b2a"))
    with pytest.raises(ValueError, match=r"holds one translation \(b2a\), not a2b"):
        onnx.translator("a2b")
    (translation,) = plan_translations(onnx).translations  # no --direction: the file's own
    assert (translation.folder, translation.target, onnx.source, onnx.uses_ema) == ("", "b2a", "onnx", True)
    with pytest.raises(OptionError, match=r"not a2b; export it with translate export --direction a2b$"):
        plan_translations(onnx, TranslationOptions(direction="a2b"))


def test_a_one_way_travelgan_plans_a2b_at_its_training_scale(tiny_travelgan):
    model = tiny_travelgan(bidirectional=False)
    model.training_size = 24
    plan = plan_translations(model)
    (translation,) = plan.translations
    assert (translation.folder, translation.target, translation.module, plan.scale_to) == ("", "a2b", model.gen_ab, 24)
    assert plan_translations(model, TranslationOptions(scale="native")).scale_to is None
    with pytest.raises(OptionError) as refused:
        plan_translations(model, TranslationOptions(direction="b2a"))
    assert str(refused.value) == "--direction must be one of ('a2b',), got 'b2a'"
    assert refused.value.spelled(PARAMETERS) == "direction must be one of ('a2b',), got 'b2a'"  # serve's spelling
    assert model.targets == ("a2b",) and model.uses_ema is False


def test_a_cyclegan_plans_one_direction(tiny_cyclegan):
    model = tiny_cyclegan(ema_decay=0.9)
    (translation,) = plan_translations(model, TranslationOptions(direction="b2a")).translations
    assert (translation.target, translation.module, model.uses_ema) == ("b2a", model.ema_ba, True)
    assert plan_translations(model).scale_to is None  # native: a local window
    with pytest.raises(OptionError) as refused:
        plan_translations(model, TranslationOptions(targets=["red"]))
    assert refused.value.spelled(PARAMETERS).startswith("target_domain, attrs and grid are for StarGAN checkpoints")


def test_a_stargan_plans_a_folder_per_target_or_one_strip(tiny_stargan):
    model = tiny_stargan()
    assert plan_translations(model, TranslationOptions(targets=["all"])).folders == ["red", "green", "blue"]
    (grid,) = plan_translations(model, TranslationOptions(grid=True)).translations
    assert (grid.folder, grid.target, grid.module) == ("", None, None)
    images = torch.zeros(2, 3, 16, 16)
    plan = plan_translations(model, TranslationOptions(targets=["green"]))
    assert torch.equal(plan.start_labels(images, [(16, 16)] * 2, ["a", "b"]), torch.zeros(2, 3))  # single-label
    panels = plan.translate(images, [(16, 16)] * 2, ["a", "b"])
    assert list(panels) == ["green"] and panels["green"][0].shape == (2, 3, 16, 16)
    fixed = plan_translations(model, TranslationOptions(targets=["green"], one=True)).only()  # export, load
    assert fixed.module is not None and torch.allclose(fixed.translate(images, None)[0], panels["green"][0])
    with pytest.raises(OptionError, match=r"^unknown --target-domain 'purple'; this StarGAN knows .* \(or all\)$"):
        plan_translations(model, TranslationOptions(targets=["purple"]))
    with pytest.raises(OptionError) as refused:
        plan_translations(model, TranslationOptions(attrs={"red": 1.0}))
    assert refused.value.spelled(PARAMETERS).startswith("attrs is for multi-label models")


def test_eval_and_predict_translate_a_travelgan_at_one_scale(tiny_travelgan, tmp_path):
    """Eval plans every target and translates tensors, predict one direction from files: the same scale (the
    training size) and the same pixels."""
    torch.manual_seed(0)
    model = tiny_travelgan().eval()
    model.training_size = 24
    evaluated = plan_each_target(model)
    assert evaluated.folders == ["a2b", "b2a"]
    assert evaluated.scale_to == plan_translations(model).scale_to == 24
    pixels = np.random.default_rng(0).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    (tmp_path / "in").mkdir()
    Image.fromarray(pixels).save(tmp_path / "in" / "photo.png")
    (written,) = predict_folder(model, tmp_path / "in", tmp_path / "out", progress=False)
    with torch.inference_mode():
        translated = evaluated.resized(evaluated.translations[0], to_tensor(pixels)[None])
    eval_pixels = to_uint8(translated[0]).permute(1, 2, 0).numpy().astype(int)
    assert np.abs(eval_pixels - np.asarray(Image.open(written))).max() <= 1
    with pytest.raises(OptionError, match=r"TraVeLGAN translates to \['a2b', 'b2a'\], not 'c2d'"):
        plan_each_target(model, ["c2d"])
