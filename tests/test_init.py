"""The package's top level: the models and the data module re-exported, a clear error for anything else."""

import pytest

from translate.data import UnpairedDataModule
from translate.models import CycleGAN


def test_package_re_exports_the_models_and_data_module():
    import translate
    import translate.models

    assert translate.CycleGAN is CycleGAN and translate.StarGAN is translate.models.StarGAN
    assert translate.UnpairedDataModule is UnpairedDataModule
    assert translate.Pix2Pix is translate.models.Pix2Pix
    with pytest.raises(AttributeError, match="no attribute 'NoSuchModel'"):
        translate.NoSuchModel  # noqa: B018
