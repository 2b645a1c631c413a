"""`translate data download` against a local HTTP server."""

import pytest


def test_cli_data_download(zip_bytes, horse2zebra, server, tmp_path, capsys):
    from translate.cli import main

    server.files["/horse2zebra.zip"] = zip_bytes(horse2zebra)
    main(["data", "download", "horse2zebra", "--root", str(tmp_path), f"--base-url={server.url}"])
    assert "translate fit --config configs/horse2zebra.yaml" in capsys.readouterr().out
    assert (tmp_path / "horse2zebra" / "trainA" / "img_0.jpg").exists()
    with pytest.raises(SystemExit, match="already exist.*--force"):
        main(["data", "download", "horse2zebra", "--root", str(tmp_path), f"--base-url={server.url}"])


def test_cli_data_download_paired_names_the_pix2pix_config(server, tmp_path, capsys):
    import io
    import tarfile

    from translate.cli import main

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("facades/train/1.jpg")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"data"))
    server.files["/facades.tar.gz"] = buffer.getvalue()
    main(["data", "download", "facades", "--paired", "--root", str(tmp_path), f"--base-url={server.url}"])
    assert "translate fit --config configs/facades.yaml" in capsys.readouterr().out
    assert (tmp_path / "facades/train/1.jpg").read_bytes() == b"data"


def test_cli_data_download_paired_refuses_an_unpaired_only_name(tmp_path):
    from translate.cli import main

    with pytest.raises(SystemExit, match="horse2zebra is a CycleGAN \\(unpaired\\) dataset: drop --paired"):
        main(["data", "download", "horse2zebra", "--paired", "--root", str(tmp_path)])


def test_aligned_pairing_on_the_unpaired_layout_says_which_download_to_run(tmp_path):
    from translate.data.paired import AlignedPairs

    (tmp_path / "facades/trainA").mkdir(parents=True)
    source = AlignedPairs(tmp_path / "facades")
    with pytest.raises(FileNotFoundError, match="unpaired layout.*translate data download facades --paired"):
        source.train_set(None, 1)
