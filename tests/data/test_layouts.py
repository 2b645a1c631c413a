"""Dataset layouts: trainA/trainB or a folder per domain, domains found from the folder names on first use, and a
missing root's error saying how to make it.
"""

import pytest

from translate.data.layouts import discover_domains


def test_folder_per_domain_layout(tiny_data, write_images, tmp_path):
    for split, count in (("train", 3), ("test", 1)):
        write_images(tmp_path / split / "horse", count, colour=0)
        write_images(tmp_path / split / "zebra", count + 1, colour=2)
    dm = tiny_data(tmp_path, domains=["horse", "zebra"])
    dm.setup("fit")
    assert len(dm.train_set) == 4 and len(dm.val_set) == 2


def test_discover_domains_from_folder_names(write_images, tiny_data, tmp_path, tiny_domains):
    for name in ("zebra", "horse", "donkey"):
        write_images(tmp_path / "per_domain" / "train" / name, 1)
    (tmp_path / "per_domain" / "train" / "empty").mkdir()  # no images: not a domain
    write_images(tmp_path / "per_domain" / "train" / ".cache", 1)  # hidden
    assert discover_domains(tmp_path / "per_domain") == ["donkey", "horse", "zebra"]
    assert discover_domains(str(tiny_domains)) == ["A", "B"]  # official layout: trainA, trainB
    (tiny_domains / "train_old").mkdir()  # not trainX: ignored
    for image in (tiny_domains / "trainB").iterdir():
        image.unlink()
    assert discover_domains(tiny_domains) == ["A", "B"]  # an empty trainB stays a domain: its own error names it
    with pytest.raises(ValueError, match="trainB"):
        tiny_data(tiny_domains).setup("fit")
    dm = tiny_data(tmp_path / "per_domain")  # no domains given: discovered
    assert dm.domains == ["donkey", "horse", "zebra"] and len(dm.train_dataloader().dataset.folders) == 3
    with pytest.raises(FileNotFoundError, match="dataset root not found: .*nowhere"):
        discover_domains(tmp_path / "nowhere")
    write_images(tmp_path / "one" / "train" / "horse", 1)
    with pytest.raises(ValueError, match=r"no two domain folders with images under .*one.*train/<domain>"):
        discover_domains(tmp_path / "one")


def test_domains_are_found_on_first_use_and_a_missing_root_says_how_to_make_it(tiny_data, write_images, tmp_path):
    # a config can be parsed (LightningCLI builds the module) before the data exists
    fruit, apple2orange, mine = (tiny_data(tmp_path / name) for name in ("fruit", "apple2orange", "mine"))
    with pytest.raises(FileNotFoundError, match=r"fruit; `python datasets/make_fruit.py --root .*fruit` generates it"):
        _ = fruit.domains
    with pytest.raises(FileNotFoundError, match=r"`translate data download apple2orange --root .*` gets it"):
        apple2orange.setup("fit")
    for name in ("trainA", "trainB"):
        write_images(tmp_path / "mine" / name, 2)
    assert mine.domains == ["A", "B"]  # found now that the folders exist
    with pytest.raises(ValueError, match=r"data.source.val_dirs has 1 folders but the domains are \['A', 'B'\]"):
        tiny_data(tmp_path / "mine", val_dirs=[tmp_path / "mine" / "trainA"]).setup("validate")
