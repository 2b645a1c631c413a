"""Each named protocol gives the numbers its library gives when called directly on the same folders with the same
feature extractor (a tiny one: nothing downloads), and says where its Inception weights go when they are missing."""

import logging

import numpy as np
import pytest
import torch
from torch import nn

from tests.evaluation.tiny_features import TinyFeatures
from translate.evaluation import PROTOCOLS, WeightsMissingError, kid_subset_size, score_folders
from translate.evaluation.protocols import _hub_holding
from translate.evaluation.scoring import warn_if_biased


@pytest.fixture
def folders(tmp_path, write_images):
    """12 reddish 20 px 'real' images and 12 greenish 'translated' ones (sizes that no library resizes to)."""
    write_images(tmp_path / "real", 12, size=(20, 20), colour=0)
    write_images(tmp_path / "fake", 12, size=(20, 20), colour=1)
    return tmp_path / "real", tmp_path / "fake"


class _PytorchFidStyle(nn.Module):
    """TinyFeatures called as pytorch-fid calls its InceptionV3: [0, 1] images in, [(N, D, 1, 1)] out."""

    def __init__(self):
        super().__init__()
        self.tiny = TinyFeatures()

    def forward(self, images):
        return [self.tiny(images * 255)[:, :, None, None]]


def test_cut_protocol_is_pytorch_fid_called_directly(folders):
    from cleanfid.fid import kernel_distance
    from pytorch_fid.fid_score import calculate_frechet_distance, compute_statistics_of_path, get_activations

    real, fake = folders
    ours = score_folders(real, fake, "cut", feature=TinyFeatures())
    model = _PytorchFidStyle()
    stats = [compute_statistics_of_path(str(folder), model, 50, 18, "cpu", num_workers=0) for folder in folders]
    assert ours.fid == pytest.approx(calculate_frechet_distance(*stats[0], *stats[1]), rel=1e-9)
    # KID over subsets as large as the sets is exact whatever the random draw: clean-fid's estimator agrees
    acts = [get_activations(sorted(folder.glob("*.png")), model, 50, 18, "cpu", 0) for folder in folders]
    assert ours.kid_subset_size == 12
    assert ours.kid_mean == pytest.approx(kernel_distance(acts[0], acts[1], num_subsets=3), rel=1e-6)
    assert ours.kid_std == pytest.approx(0, abs=1e-9) and (ours.n_real, ours.n_fake) == (12, 12)


def test_clean_protocol_is_clean_fid_called_directly(folders):
    from cleanfid.fid import compute_fid

    real, fake = folders
    tiny = TinyFeatures()
    ours = score_folders(real, fake, "clean", feature=tiny)
    direct = compute_fid(str(real), str(fake), mode="clean", custom_feat_extractor=lambda x: tiny(x), num_workers=0,
                         batch_size=8, device=torch.device("cpu"), verbose=False)  # fmt: skip
    assert ours.fid == pytest.approx(direct, rel=1e-9)


class _FidelityTiny(__import__("torch_fidelity").feature_extractor_base.FeatureExtractorBase):
    """TinyFeatures registered with torch-fidelity by the test itself."""

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        self.tiny = TinyFeatures()

    @staticmethod
    def get_provided_features_list():
        return ("tiny",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return "tiny"

    @staticmethod
    def can_be_compiled():
        return False

    def forward(self, images):
        return (self.tiny(images),)


def test_torch_fidelity_protocol_is_torch_fidelity_called_directly(folders):
    from torch_fidelity import calculate_metrics
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if "test-tiny" not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor("test-tiny", _FidelityTiny)
    real, fake = folders
    ours = score_folders(real, fake, "torch-fidelity", feature=TinyFeatures(), kid_subset=5)
    direct = calculate_metrics(input1=str(fake), input2=str(real), fid=True, kid=True, kid_subset_size=5,
                               feature_extractor="test-tiny", cuda=False, verbose=False, cache=False,
                               save_cpu_ram=True)  # fmt: skip
    assert ours.fid == pytest.approx(direct["frechet_inception_distance"], rel=1e-9)
    assert ours.kid_mean == pytest.approx(direct["kernel_inception_distance_mean"], rel=1e-9)
    assert ours.kid_std == pytest.approx(direct["kernel_inception_distance_std"], rel=1e-9) and ours.kid_std > 0


def test_protocols_differ_by_their_resize_and_all_rank_a_worse_set_worse(folders, tmp_path, write_images):
    real, fake = folders
    write_images(tmp_path / "close", 12, size=(20, 20), colour=0)  # another sample of the real distribution
    scores = {name: score_folders(real, fake, name, feature=TinyFeatures()) for name in PROTOCOLS}
    close = {name: score_folders(real, tmp_path / "close", name, feature=TinyFeatures()) for name in PROTOCOLS}
    for name in PROTOCOLS:
        assert close[name].fid < scores[name].fid and close[name].kid_mean < scores[name].kid_mean, name
    assert scores["clean"].fid != pytest.approx(scores["cut"].fid, rel=1e-6)  # bicubic to 299 before the features


def test_kid_subset_size_follows_the_smaller_set():
    assert kid_subset_size(5000, 3000) == 1000  # the libraries' default
    assert kid_subset_size(140, 120) == 120  # horse2zebra's test split: lowered, as clean-fid does
    assert kid_subset_size(140, 120, 50) == 50
    with pytest.raises(ValueError, match="between 2 and 120"):
        kid_subset_size(140, 120, 500)
    with pytest.raises(ValueError, match="at least 2"):
        kid_subset_size(1, 120)


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_missing_weights_name_the_file_the_url_and_where_to_put_them(name, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    weights = PROTOCOLS[name].weights
    with pytest.raises(WeightsMissingError) as error:
        score_folders(tmp_path, tmp_path, name, weights=tmp_path / "nowhere.pth")
    message = str(error.value)
    assert "nowhere.pth" in message and weights.url in message and str(weights.default_path()) in message
    assert "\n" not in message


def test_weights_are_found_in_the_library_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    weights = PROTOCOLS["cut"].weights
    with pytest.raises(WeightsMissingError):
        weights.find()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / weights.file).write_bytes(b"weights")
    assert weights.find() == tmp_path / "checkpoints" / weights.file


def test_pytorch_fid_loads_weights_kept_anywhere_without_a_download(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty_hub"))
    kept = tmp_path / "elsewhere" / "my_inception.pth"
    kept.parent.mkdir()
    torch.save({"w": torch.arange(3)}, kept)
    weights = PROTOCOLS["cut"].weights
    monkeypatch.undo()  # _hub_holding sets torch.hub's folder itself, and puts the previous one back
    before = torch.hub.get_dir()
    with _hub_holding(kept, weights.file):
        loaded = torch.hub.load_state_dict_from_url(weights.url, weights_only=True)  # found: no network needed
    assert torch.equal(loaded["w"], torch.arange(3)) and torch.hub.get_dir() == before


def test_small_sets_are_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        assert warn_if_biased(120) and not warn_if_biased(5000)
    assert "120 images is biased" in caplog.text and caplog.text.count("biased upwards") == 1


def test_features_in_memory_equal_the_folder_features(folders):
    """Training scores tensors, not files: each protocol's in-memory path gives the features its library gives the
    same pixels read from PNG (so FIDMonitor and translate eval measure the same thing)."""
    from translate.data.images import read_image

    real, _ = folders
    files = sorted(real.glob("*.png"))
    images = torch.stack([torch.from_numpy(read_image(f)).permute(2, 0, 1) for f in files])
    for name, protocol in PROTOCOLS.items():
        extractor = protocol.build(None, TinyFeatures(), torch.device("cpu"))
        from_files = protocol.folder_features(real, extractor, torch.device("cpu"), 50)
        np.testing.assert_allclose(protocol.image_features(images, extractor), from_files, rtol=1e-5, err_msg=name)


def test_only_clean_fid_reads_sub_folders(folders, write_images):
    """docs/evaluation.md: pytorch-fid and torch-fidelity read a folder's own files; clean-fid recurses."""
    real, _ = folders
    write_images(real / "extra", 3, size=(20, 20), colour=1)
    counts = {}
    for name, protocol in PROTOCOLS.items():
        extractor = protocol.build(None, TinyFeatures(), torch.device("cpu"))
        counts[name] = len(protocol.folder_features(real, extractor, torch.device("cpu"), 50))
    assert counts == {"cut": 12, "clean": 15, "torch-fidelity": 12}


def _pytorch_fid_inception_state() -> dict:
    """A state dict with the keys and shapes of pytorch-fid's FID Inception (random values: the published weights
    cannot be downloaded here), built as pytorch_fid.inception.fid_inception_v3 builds its network."""
    from pytorch_fid import inception as pf

    net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = (pf.FIDInceptionA(c, pool_features=p) for c, p in
                                                ((192, 32), (256, 64), (288, 64)))  # fmt: skip
    net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e = (pf.FIDInceptionC(768, channels_7x7=c) for c in
                                                              (128, 160, 160, 192))  # fmt: skip
    net.Mixed_7b, net.Mixed_7c = pf.FIDInceptionE_1(1280), pf.FIDInceptionE_2(2048)
    return net.state_dict()


@pytest.mark.slow
def test_cut_protocol_runs_pytorch_fids_inception_from_a_file_kept_anywhere(folders, tmp_path):
    kept = tmp_path / "weights" / "inception.pth"
    kept.parent.mkdir()
    torch.save(_pytorch_fid_inception_state(), kept)
    real, fake = folders
    protocol, previous = PROTOCOLS["cut"], torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "empty_hub"))  # not in the cache: the kept file only
    try:
        extractor = protocol.build(protocol.weights.find(kept), None, torch.device("cpu"))
        features = protocol.folder_features(real, extractor, torch.device("cpu"), 50)
        assert features.shape == (12, 2048) and np.isfinite(features).all()
        assert score_folders(real, fake, "cut", weights=kept).fid > 0
    finally:
        torch.hub.set_dir(previous)


@pytest.mark.slow
def test_torch_fidelity_protocol_runs_its_inception_from_a_weights_file(folders, tmp_path, monkeypatch):
    """torch-fidelity's inception-v3-compat from a file (random values with its keys: the published weights cannot
    be downloaded here), through translate eval's folder scoring and FIDMonitor's in-memory features."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with monkeypatch.context() as patch:  # build one without loading anything, to save its keys and shapes
        patch.setattr(fe, "load_state_dict_from_url", lambda *args, **kwargs: {})
        patch.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *args, **kwargs: None)
        state = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    kept = tmp_path / "fidelity.pth"
    torch.save(state, kept)
    real, fake = folders
    assert score_folders(real, fake, "torch-fidelity", weights=kept).fid > 0
    protocol = PROTOCOLS["torch-fidelity"]
    extractor = protocol.build(kept, None, torch.device("cpu"))
    images = torch.randint(0, 256, (2, 3, 20, 20), dtype=torch.uint8)
    assert protocol.image_features(images, extractor).shape == (2, 2048)
