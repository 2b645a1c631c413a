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
