"""Data sources as injected classes (#31): every source says what it yields, the one data module loads any of them,
the old data modules build the same source from their flat options, and code outside translate/data asks a source
instead of checking dataset classes."""

import ast
import inspect
from pathlib import Path

import pytest
import torch

from translate.data.datamodule import (
    ImageDataModule,
    Transforms,
    UnpairedDataModule,
    build_source,
    with_data_state_for_every_name,
)
from translate.data.image_folder import ClassFolders, ImageFolder
from translate.data.paired import AlignedPairs, MatchedPairs
from translate.data.sources import AttributeFile, DomainFolders

REPO = Path(__file__).resolve().parents[2]


def _data(source, **kwargs) -> ImageDataModule:
    return ImageDataModule(source, **{"load_size": 18, "crop_size": 16, "batch_size": 2, "num_workers": 0, **kwargs})


def _attributes(root: Path, write_images) -> Path:
    names = [path.name for path in write_images(root / "images", 4)]
    rows = [f"{name} {1 if i % 2 else -1} {-1 if i % 2 else 1} 1" for i, name in enumerate(names)]
    (root / "attrs.txt").write_text("\n".join(["4", "Blond Dark Young", *rows]) + "\n")
    return root / "attrs.txt"


@pytest.mark.parametrize(
    ("make", "yields", "domains", "labelled", "paired", "batch"),
    [
        (lambda r: DomainFolders(r["domains"]), "domains", ("A", "B"), False, False, [(2, 3, 16, 16)] * 2),
        (lambda r: MatchedPairs(r["pairs"], direction="b2a"), "pairs", ("B", "A"), False, True, [(2, 3, 16, 16)] * 2),
        (lambda r: AlignedPairs(r["aligned"]), "pairs", ("A", "B"), False, True, [(2, 3, 16, 16)] * 2),
        (lambda r: AttributeFile(r["attrs"], domains=["Young", "Blond"], val_count=1), "labels", ("Young", "Blond"),
         True, False, [(2, 3, 16, 16), (2, 2)]),
        (lambda r: ImageFolder(r["domains"] / "trainA"), "images", (), False, False, [(2, 3, 16, 16)]),
        (lambda r: ClassFolders(r["domains"], class_dirs=["trainB", "trainA"], class_names=["leaf", "apple"]),
         "classes", ("leaf", "apple"), True, False, [(2, 3, 16, 16), (2,)]),
    ],
    ids=["domain-folders", "matched-pairs", "aligned-pairs", "attribute-file", "image-folder", "class-folders"],
)  # fmt: skip
def test_each_source_says_what_it_yields_and_the_data_module_loads_it(
    make, yields, domains, labelled, paired, batch, tiny_domains, tiny_pairs, tiny_aligned, write_images, tmp_path
):
    roots = {"domains": tiny_domains, "pairs": tiny_pairs, "aligned": tiny_aligned,
             "attrs": _attributes(tmp_path / "celeba", write_images)}  # fmt: skip
    source = make(roots)
    data = _data(source)
    assert source.yields == yields and data.spec.domains == domains
    assert (data.spec.labelled, data.spec.paired, data.spec.channels, data.spec.image_size) == (labelled, paired, 3, 16)
    first = next(iter(data.train_dataloader()))
    assert [tuple(part.shape) for part in first] == batch
    assert [tuple(part.shape) for part in data.sample_batch(2)] == batch


def test_a_source_is_built_without_reading_the_disk_and_finds_its_domains_on_first_use(tiny_domains, tmp_path):
    source = DomainFolders(tmp_path / "not yet")  # a config being parsed: no data needed
    with pytest.raises(FileNotFoundError, match="dataset root not found"):
        _ = source.domains
    assert DomainFolders(tiny_domains).domains == ["A", "B"]
    assert build_source({"class_path": "translate.data.sources.DomainFolders", "init_args": {"root": tiny_domains}}
                        ).domains == ["A", "B"]  # fmt: skip
    with pytest.raises(ValueError, match="is not a data source"):
        build_source({"class_path": "translate.data.datamodule.ImageDataModule", "init_args": {}})


def test_test_images_give_each_domain_with_its_files_or_the_halves_of_pairs(tiny_domains, tiny_pairs):
    test = _data(DomainFolders(tiny_domains)).test_images(8)
    assert [len(images) for images in test.images] == [2, 2] and test.images[0][0].shape == (3, 8, 8)
    assert [path.parent.name for files in test.files for path in files] == ["testA"] * 2 + ["testB"] * 2
    pairs = _data(MatchedPairs(tiny_pairs)).test_images(None)
    assert pairs.files is None and [len(images) for images in pairs.images] == [2, 2]
    assert pairs.images[1][0].shape == (3, 16, 16)  # the targets at their own size


def test_an_attribute_file_has_no_test_images_per_domain(tmp_path, write_images):
    source = AttributeFile(_attributes(tmp_path, write_images), domains=["Blond", "Dark"], val_count=1)
    with pytest.raises(ValueError, match="data.source AttributeFile has none: score translations with --real/--fake"):
        _data(source).test_images(8)


def test_the_old_data_module_builds_the_same_source_and_batches(tiny_domains):
    old = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=2, num_workers=0, seed=3)
    new = _data(DomainFolders(tiny_domains), seed=3)
    assert old.spec == new.spec
    for a, b in zip(old.train_dataloader(), new.train_dataloader(), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert UnpairedDataModule.source_from({"root": tiny_domains, "pairing": "matched"}).yields == "pairs"


def test_custom_transforms_replace_the_default_pipelines(tiny_domains):
    import albumentations as A

    data = _data(DomainFolders(tiny_domains), transforms=Transforms(train=A.Resize(8, 8)))
    assert tuple(next(iter(data.train_dataloader()))[0].shape) == (2, 3, 8, 8)
    assert tuple(data.sample_batch(2)[0].shape) == (2, 3, 16, 16)  # the default evaluation pipeline


def test_a_checkpoints_data_state_reaches_every_data_module():
    checkpoint = with_data_state_for_every_name({"UnpairedDataModule": {"epoch": 1, "batches_done": 2}})
    assert checkpoint["ImageDataModule"] == checkpoint["ImageFolderDataModule"] == {"epoch": 1, "batches_done": 2}


# --- the structural rules ------------------------------------------------------------------------------------


def test_the_data_module_takes_at_most_eight_arguments():
    assert len(inspect.signature(ImageDataModule.__init__).parameters) - 1 <= 8


def test_no_function_in_translate_data_is_over_60_lines():
    long = []
    for path in sorted((REPO / "translate" / "data").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{path.name}:{node.name}")
    assert not long


DATASET_CLASSES = {"DomainFolder", "UnpairedDataset", "AttributeImages", "PairedImages", "ClassImages", "Halves"}


def test_nothing_outside_data_and_models_checks_dataset_classes():
    """Eval, the CLI, the benchmarks ask the source (``yields``, ``domains``, ``test_images``): no module outside
    translate/data and translate/models imports a dataset class, so none can check one."""
    found, allowed = [], (REPO / "translate" / "data", REPO / "translate" / "models")
    for path in [*(REPO / "translate").rglob("*.py"), *(REPO / "benchmarks").rglob("*.py")]:
        if any(folder in path.parents for folder in allowed):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and DATASET_CLASSES & {alias.name for alias in node.names}:
                found.append(str(path.relative_to(REPO)))
    assert not found
