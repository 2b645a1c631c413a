"""--reference: translations against clean-fid's precomputed test statistics, looked up where clean-fid keeps them
(statistics written here from the tiny extractor's features: the published ones cannot be downloaded here)."""

import json

import cleanfid
import numpy as np
import pytest
import torch

from tests.evaluation.tiny_features import TinyFeatures
from translate.cli import main
from translate.evaluation import score_folders
from translate.evaluation.references import STATS_URL, reference_files

TINY = ["--feature-extractor", "tests.evaluation.tiny_features.TinyFeatures", "--device", "cpu"]


@pytest.fixture
def stats_home(tmp_path, monkeypatch):
    """clean-fid's package folder moved to tmp_path, so its stats/ folder is one the test may write."""
    monkeypatch.setattr(cleanfid, "__file__", str(tmp_path / "cleanfid" / "__init__.py"))
    return tmp_path / "cleanfid" / "stats"


def test_reference_statistics_score_as_the_real_folder_would(stats_home, write_images, tmp_path, capsys):
    from cleanfid.fid import get_folder_features

    write_images(tmp_path / "real", 8, size=(20, 20), colour=1)
    write_images(tmp_path / "fake", 6, size=(20, 20), colour=2)
    tiny = TinyFeatures()
    feats = get_folder_features(str(tmp_path / "real"), lambda x: tiny(x), num_workers=0, batch_size=8,
                                device=torch.device("cpu"), mode="clean", verbose=False)  # fmt: skip
    fid_file, kid_file = reference_files("horse2zebra")
    stats_home.mkdir(parents=True)
    np.savez(fid_file, mu=np.mean(feats, axis=0), sigma=np.cov(feats, rowvar=False))
    np.savez(kid_file, feats=feats)
    out = tmp_path / "out"
    main(["eval", "--reference", "horse2zebra", "--fake", str(tmp_path / "fake"), "--protocol", "clean",
          "--output", str(out), *TINY])  # fmt: skip
    (score,) = json.loads((out / "eval.json").read_text())["scores"]
    direct = score_folders(tmp_path / "real", tmp_path / "fake", "clean", feature=TinyFeatures())
    assert score["fid"] == pytest.approx(direct.fid, rel=1e-6)
    assert score["kid_mean"] == pytest.approx(direct.kid_mean, rel=1e-9) and score["n_real"] == 8
    assert capsys.readouterr().out.startswith("[clean] FID ")


def test_missing_reference_statistics_name_the_files_and_urls(stats_home, write_images, tmp_path):
    write_images(tmp_path / "fake", 2)
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--reference", "cat2dog", "--fake", str(tmp_path / "fake"), "--protocol", "clean", *TINY])
    message = str(exit_info.value.code)
    assert f"{STATS_URL}/cat2dog_clean_test_256.npz" in message and str(stats_home) in message
    with pytest.raises(SystemExit, match="use --protocol clean"):
        main(["eval", "--reference", "cat2dog", "--fake", str(tmp_path / "fake"), *TINY])
    with pytest.raises(SystemExit, match="--real DIR \\(two folders\\) or --reference"):
        main(["eval", "--reference", "cat2dog", "--real", str(tmp_path), "--fake", str(tmp_path / "fake")])
