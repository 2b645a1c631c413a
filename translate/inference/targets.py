"""Which of a model's translations a caller means: ``--direction`` or ``--target-domain``, checked against the
model contract, so that a typo or the wrong option is one line naming what the model offers."""

from translate.models.contract import TranslationModel


def choose_translation(model: TranslationModel, *, direction: str = "a2b", target_domain: str | None = None) -> str:
    """The one translation (a ``model.targets`` name) that ``direction`` or ``target_domain`` asks for.

    Models whose targets are domains take ``target_domain`` (``direction`` is ignored); the others ``direction``.
    """
    if model.target_kind == "domain":
        if target_domain not in model.targets:
            raise ValueError(f"--target-domain must be one of {list(model.targets)}, got {target_domain!r}")
        return target_domain
    if target_domain is not None:
        raise ValueError(f"--target-domain is for StarGAN and other multi-domain models; {type(model).__name__} "
                         "takes --direction")  # fmt: skip
    if direction not in model.targets:
        raise ValueError(f"--direction must be one of {model.targets}, got {direction!r}")
    return direction
