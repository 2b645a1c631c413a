"""`translate import`: official StarGAN files become a checkpoint predict gives the official pixels with (as it does
from the official file itself); wrong files and options are named.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.inference.loading import load_model
from translate.networks import ResnetGenerator


def test_wrong_architecture_is_named(official_cyclegan_file, tmp_path, capsys):
    official_cyclegan_file(ResnetGenerator(3, 3, num_blocks=6), tmp_path / "g.pth")
    with pytest.raises(SystemExit, match="does not match this generator.*--netG"):
        main(["import", "--g-ab", str(tmp_path / "g.pth"), "--netG", "resnet_9blocks", "--output", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="not found"):
        main(["import", "--g-ab", str(tmp_path / "nope.pth"), "--output", str(tmp_path / "x.ckpt")])


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(256)) * 20, "its bytes are no format PyTorch writes"),
        (b"weights", "it is a text file"),
        (b"", "it is empty"),
    ],
)
def test_a_file_that_is_no_generator_is_one_line(content, said, tmp_path):
    """#29: random bytes ended in torch's multi-line advice to load them with weights_only=False."""
    (tmp_path / "g.pth").write_bytes(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "--g-ab", str(tmp_path / "g.pth"), "--output", str(tmp_path / "x.ckpt")])
    message = str(exit_info.value.code)
    assert message == (f"translate import: error: {tmp_path / 'g.pth'} is not an official generator file ({said}); "
                       "pass the .pth or .ckpt file the official code saved")  # fmt: skip
    assert not (tmp_path / "x.ckpt").exists()


def test_stargan_import_then_predict(official_stargan_files, tmp_path):
    official_g, _ = official_stargan_files(tmp_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    pixels = (torch.rand(32, 32, 3) * 255).to(torch.uint8)
    Image.fromarray(pixels.numpy()).save(photos / "face.png")
    attrs = "Black_Hair=0,Blond_Hair=1,Brown_Hair=0,Male=1,Young=0"  # every attribute: independent of the classifier
    main(["import", "--stargan", str(tmp_path / "200000-G.ckpt"), "--output", str(tmp_path / "stargan.ckpt")])
    for ckpt, out in [("stargan.ckpt", "from_import"), ("200000-G.ckpt", "from_official_file")]:
        main(["predict", "--ckpt", str(tmp_path / ckpt), "--input", str(photos), "--output", str(tmp_path / out),
              "--attrs", attrs, "--num-workers", "0", "--device", "cpu"])  # fmt: skip
    x = pixels.permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        expected = official_g.train()(x, torch.tensor([[0.0, 1, 0, 1, 0]]))
    expected = ((expected[0].clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).numpy()
    for out in ("from_import", "from_official_file"):
        written = np.asarray(Image.open(tmp_path / out / "face.png"), dtype=np.float64)
        assert np.abs(written - expected).max() <= 1.0


def test_stargan_import_errors_name_the_fix(official_stargan_files, official_cyclegan_file, tmp_path, caplog):
    official_stargan_files(tmp_path, with_d=False)
    with pytest.raises(SystemExit, match="translates between 5 domains|--domains names 3"):
        main(["import", "--stargan", str(tmp_path / "200000-G.ckpt"), "--domains", "a", "b", "c",
              "--output", str(tmp_path / "x.ckpt")])  # fmt: skip
    model = load_model(tmp_path / "200000-G.ckpt")  # no D: attributes taken as all off, and a warning says so
    assert "no StarGAN discriminator file" in caplog.text
    assert torch.equal(model.estimate_labels(torch.zeros(1, 3, 32, 32)), torch.zeros(1, 5))
    with pytest.raises(SystemExit, match="200000-G.ckpt is not an official StarGAN discriminator"):
        main(["import", "--stargan", str(tmp_path / "200000-G.ckpt"), "--stargan-d", str(tmp_path / "200000-G.ckpt"),
              "--output", str(tmp_path / "x.ckpt")])  # fmt: skip
    official_cyclegan_file(ResnetGenerator(3, 3, num_blocks=1), tmp_path / "latest_net_G_A.pth")
    with pytest.raises(SystemExit, match="not an official StarGAN generator"):
        main(["import", "--stargan", str(tmp_path / "latest_net_G_A.pth"), "--output", str(tmp_path / "x.ckpt")])
