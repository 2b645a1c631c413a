"""``translate fit|validate|test``: LightningCLI with translate's strategy, checkpoint writer and resume check.

Kept apart from translate.cli so that ``translate --help``, ``translate data`` and ``translate predict`` do not
import Lightning's CLI stack.
"""

import argparse
import importlib
import logging
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

import yaml
from jsonargparse import ArgumentParser, DefaultHelpFormatter
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import LightningDataModule, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

import translate.data.image_folder  # noqa: F401  (shorthand data.source class paths: ImageFolder, ClassFolders)
import translate.data.paired  # noqa: F401  (AlignedPairs, MatchedPairs)
import translate.models  # noqa: F401  (shorthand class_path and load_from_checkpoint need them imported)
import translate.networks  # noqa: F401
from translate.checkpoints import read_checkpoint, resolve_checkpoint
from translate.data.datamodule import SOURCES_HINT, ImageDataModule, old_spelling_message
from translate.data.sources import DataSource
from translate.models.checks import _flat
from translate.models.contract import GeneratesFromNoise, LabelConditioned
from translate.training.checkpoint_io import AtomicCheckpointIO
from translate.training.config_errors import constructor_error, short_message
from translate.training.console import PlainProgress, RunSummary
from translate.training.strategies import PLAIN_DDP_NAMES, StepSyncDDPStrategy

log = logging.getLogger(__name__)

MODELS_HELP = """\
models: CycleGAN, StarGAN, TraVeLGAN, SiameseDiscTraVeLGAN, Pix2Pix, CUT (model.class_path); from noise, with
data.source ImageFolder or ClassFolders: DCGAN, ConditionalGAN, InfoGAN, SiameseGAN, VAEGAN. data.source picks where
images come from: DomainFolders, AttributeFile, AlignedPairs, MatchedPairs, ImageFolder, ClassFolders.
`--model.help CycleGAN` lists a model's options, `--config C --model.init_args.generator.help ResnetGenerator` a
network's. `--print_config` prints the whole resolved configuration. Docs: docs/models.md, docs/training.md."""

SUBCOMMAND_HELP = {
    "fit": {
        "description": "Train a model from a config file; any value can be overridden on the command line.",
        "epilog": """\
examples:
  translate fit --config configs/quickstart.yaml
  translate fit --config configs/apple2orange.yaml --data.batch_size 4 --trainer.precision bf16-mixed
  translate fit --config configs/apple2orange.yaml --ckpt_path runs/apple2orange/translate/RUN/checkpoints/last.ckpt

One batch is one generator and one discriminator update; --trainer.max_steps counts optimizer steps (two per batch
for CycleGAN and TraVeLGAN, 1 + 1/n_critic for StarGAN), so the shipped configs limit training by epochs.
"""
        + MODELS_HELP,
    },
    "validate": {
        "description": "Run the validation loop (the test folders) of a checkpoint and print its metrics.",
        "epilog": "example:\n  translate validate --config configs/quickstart.yaml --ckpt_path runs/quickstart\n\n"
        + MODELS_HELP,
    },
    "test": {
        "description": "Run the test loop (the test folders, metrics logged as test/...) of a checkpoint.",
        "epilog": "example:\n  translate test --config configs/quickstart.yaml --ckpt_path runs/quickstart\n\n"
        + MODELS_HELP,
    },
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter, DefaultHelpFormatter):
    """jsonargparse's formatter, but the description and epilog keep their line breaks (examples stay readable)."""


class TranslateParser(LightningArgumentParser):
    """LightningCLI's parser, whose errors are one line naming the option and the closest valid name (a typo), not
    the usage text and jsonargparse's dump of every Union subtype it tried."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error or os.environ.get("TRANSLATE_DEBUG"):  # nested parsers raise, their caller decides
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        options = [option for action in parser._actions for option in action.option_strings]
        prog = parser.prog.replace(" [options]", "")
        hint = f"`{prog} --help` lists the options; TRANSLATE_DEBUG=1 shows jsonargparse's own report"
        # the data module is chosen by class now, but `data.batch_size` is how configs and the docs name its options
        said = new_spelling(short_message(message, options).replace("data.init_args.", "data.", 1))
        sys.stderr.write(f"{prog}: error: {said}\n  ({hint})\n")
        self.exit(2)


def new_spelling(said: str) -> str:
    """``said``, or for an option of the old data modules (``data.root: ImageDataModule has no option 'root'``) the
    line that names its new spelling."""
    old = re.match(r"data\.(?:init_args\.)?(\w+): ImageDataModule has no option", said)
    unknown = re.match(r"data\.(?:init_args\.)?source: Expected a dot import path string: (\S+)", said)
    if unknown:
        return f"data.source: no data source {unknown[1]!r}; {SOURCES_HINT}"
    return (old and old_spelling_message(old[1])) or said


def data_option_error(error: Exception) -> str:
    """One line for an error parsing or building a config's data section outside ``translate fit`` (eval)."""
    said = constructor_error(error, {}) if isinstance(error, ValueError) else None
    return new_spelling(said or short_message(str(error), []).replace("data.init_args.", "data.", 1))


class TranslateCLI(LightningCLI):
    """LightningCLI without its own ``predict`` (ours takes a checkpoint and folders instead of a config), and with
    ``--trainer.strategy ddp`` (or ddp_spawn, ddp_fork, ddp_notebook) meaning
    translate.training.strategies.StepSyncDDPStrategy: Lightning's plain DDP stops on a GAN's unused parameters."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {name: keys for name, keys in LightningCLI.subcommands().items() if name != "predict"}

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ValueError as error:  # a data module's, model's, network's or callback's, in jsonargparse's report
            self._exit_on_constructor_error(error)
            raise

    def _run_subcommand(self, subcommand: str) -> None:
        try:
            super()._run_subcommand(subcommand)
        except ValueError as error:  # classes the model builds when the run starts: optimizers, schedules
            self._exit_on_constructor_error(error)
            raise

    def _exit_on_constructor_error(self, error: ValueError) -> None:
        """A ``ValueError`` raised by the constructor of a class the config names ends the run in one line naming
        the option (``data.load_size: load_size (32) must be >= crop_size (64)``), not jsonargparse's dump of
        every Union subtype it tried; anything else keeps its traceback."""
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else self.config
        said = None if os.environ.get("TRANSLATE_DEBUG") else constructor_error(error, config.as_dict())
        if said is not None:
            sys.exit(f"translate {subcommand}: error: {said}  (TRANSLATE_DEBUG=1 shows the traceback)")

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        strategy = kwargs.get("strategy", self._get(self.config_init, "trainer", default={}).get("strategy"))
        if isinstance(strategy, str) and strategy in PLAIN_DDP_NAMES:
            rank_zero_info(
                f"strategy {strategy!r}: translate.training.strategies.StepSyncDDPStrategy (gradients averaged at each "
                "optimizer step, no unused-parameter search; see docs/training.md)"
            )
            kwargs["strategy"] = StepSyncDDPStrategy(start_method=PLAIN_DDP_NAMES[strategy])
        try:
            trainer = super().instantiate_trainer(**kwargs)
        except (ValueError, MisconfigurationException) as error:  # max_epochs -5, an accelerator this machine lacks
            if os.environ.get("TRANSLATE_DEBUG"):
                raise
            said = (str(error).strip().splitlines() or [type(error).__name__])[0]
            sys.exit(f"translate {self.config.get('subcommand')}: error: trainer: {said}  (TRANSLATE_DEBUG=1 shows the "
                     "traceback)")  # fmt: skip
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # Lightning's default, not a user's plugin
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        trainer.callbacks.append(RunSummary())
        if type(trainer.progress_bar_callback) is TQDMProgressBar and not sys.stdout.isatty():  # a job's log file
            index = trainer.callbacks.index(trainer.progress_bar_callback)
            trainer.callbacks[index] = PlainProgress()
        if not trainer.loggers:  # `--trainer.logger false` on a config whose LearningRateMonitor would stop the run
            monitors = [c for c in trainer.callbacks if isinstance(c, LearningRateMonitor)]
            for monitor in monitors:
                trainer.callbacks.remove(monitor)
            if monitors and trainer.is_global_zero:
                log.warning("no logger (trainer.logger false): LearningRateMonitor skipped, it logs to a logger")
        return trainer

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        if self.subclass_mode_data:  # `data:` without a class_path is the image data module
            parser.set_defaults({"data": {"class_path": "translate.data.datamodule.ImageDataModule"}})

    def parse_arguments(self, parser: Any, args: Any) -> None:
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else self.config
        fill_domains_from_data(config)
        loggers_follow_the_run_folder(config)

    def _parse_ckpt_path(self) -> None:
        # Lightning replaces the config's model with the checkpoint's hyper-parameters without a word: a resume
        # with an edited config would silently train something else than the config says. Networks, channels and
        # domains that differ are an error; other differences (loss weights, ...) are named, and the checkpoint's
        # values are used, as Lightning does.
        subcommand = self.config.get("subcommand")
        ckpt_path = subcommand and self.config[subcommand].get("ckpt_path")
        if ckpt_path and Path(ckpt_path).is_dir():  # a run folder, as predict takes: its newest last.ckpt
            ckpt_path = self.config[subcommand]["ckpt_path"] = str(resolve_checkpoint(ckpt_path))
            rank_zero_info(f"--ckpt_path: {ckpt_path}")
        elif ckpt_path and ckpt_path not in LIGHTNING_CKPT_NAMES and not Path(ckpt_path).exists():
            raise FileNotFoundError(f"--ckpt_path {ckpt_path} does not exist; pass a .ckpt file or a run folder")
        if ckpt_path and Path(ckpt_path).is_file():
            report_checkpoint_differences(self.config[subcommand].model, ckpt_path, subcommand)
        super()._parse_ckpt_path()


def loggers_follow_the_run_folder(config: Any) -> None:
    """Loggers that do not set their own ``save_dir`` write under ``trainer.default_root_dir``, and so, through them,
    do Lightning's checkpoints and the saved config: one setting moves the whole run (a mounted volume in a Docker
    job, a scratch disk). A ``save_dir`` given in the config or on the command line is kept."""
    trainer = config.get("trainer")
    root = trainer.get("default_root_dir") if trainer is not None else None
    if root is None:
        return
    loggers = trainer.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        init_args = logger.get("init_args") if hasattr(logger, "get") else None
        if init_args is not None and "save_dir" in init_args and init_args["save_dir"] in (None, "."):
            init_args["save_dir"] = str(root)


def fill_domains_from_data(config: Any) -> None:
    """A model whose config leaves out what only the data knows gets it from the data's source (``domains``): a
    label-conditioned model (StarGAN) its ``domains``, a conditional noise model (ConditionalGAN, ...) its ``classes``.
    Done on the parsed config, before the resume check and instantiation: the networks' label count, the checkpoint's
    hyper-parameters, predict's target names and ``translate sample --class`` need them."""
    model = config.get("model")
    init_args = model.get("init_args") if model is not None else None
    if init_args is None:
        return
    model_class = _model_class(str(model.get("class_path", "")))
    if issubclass(model_class, LabelConditioned) and init_args.get("domains") is None:
        init_args["domains"] = data_source(config, "a StarGAN needs its domains").domains
    elif issubclass(model_class, GeneratesFromNoise) and "classes" in init_args and init_args["classes"] is None:
        source = data_source(config, "a conditional noise model needs its classes")
        if source.yields != "classes":
            raise ValueError("a conditional noise model needs its classes: set data.source to ClassFolders (one "
                             "folder per class under its root) or model.init_args.classes")  # fmt: skip
        init_args["classes"] = source.domains


def data_source(config: Any, needed: str) -> DataSource:
    """The source of the data module a parsed config names, asked rather than guessed: its class builds it from the
    config (no data needs to exist yet)."""
    data = config.get("data")
    class_path = data.get("class_path") if data is not None else None
    # chosen by class (translate fit), or the data module's own arguments (a CLI built with datamodule_class)
    data_class = _model_class(str(class_path)) if class_path else ImageDataModule if data is not None else object
    if not issubclass(data_class, ImageDataModule):
        raise ValueError(f"{needed}: set it in the model's init_args (data.class_path {class_path} does not say)")
    init_args = data.get("init_args") if class_path else data
    return data_class.source_from(init_args.as_dict() if hasattr(init_args, "as_dict") else dict(init_args))


def data_module_from_configs(configs: list[str]) -> LightningDataModule:
    """The ``data`` section of the stacked ``configs`` (later ones override keys of earlier ones) as the data module
    ``translate fit`` would build (``ImageDataModule`` unless the section names another class)."""
    merged: dict = {"class_path": "translate.data.datamodule.ImageDataModule", "init_args": {}}
    for config in configs:
        if not Path(config).is_file():
            raise FileNotFoundError(f"--config {config} does not exist")
        section = (yaml.safe_load(Path(config).read_text()) or {}).get("data") or {}
        if "class_path" in section or "init_args" in section:
            merged["class_path"] = section.get("class_path", merged["class_path"])
            section = section.get("init_args") or {}
        merged["init_args"] = _merged(merged["init_args"], section)
    if not merged["init_args"]:
        raise ValueError(f"no data section in {', '.join(configs)}; pass the config that trained the model")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--data", type=LightningDataModule)
    try:
        return parser.instantiate_classes(parser.parse_object({"data": merged})).data
    except Exception as error:  # noqa: BLE001 (jsonargparse's report, or a constructor's ValueError: one line)
        raise ValueError(f"the data section of {', '.join(configs)}: {data_option_error(error)}") from None


def _merged(base: dict, override: dict) -> dict:
    """``base`` with ``override``'s keys on top; a dict in both is merged key by key (a later --config's
    ``source: {init_args: {root: ...}}`` keeps the earlier one's other source arguments)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _model_class(class_path: str) -> type:
    """The class a parsed ``model.class_path`` names (jsonargparse has resolved it to a dotted path)."""
    module, _, name = class_path.rpartition(".")
    found = getattr(importlib.import_module(module or "translate.models"), name, None)
    return found if isinstance(found, type) else object


LIGHTNING_CKPT_NAMES = ("last", "best", "hpc", "registry")  # ckpt_path values that Lightning resolves itself

ARCHITECTURE_KEYS = ("generator.", "discriminator.", "siamese.", "channels", "domains", "label_mode", "image_size",
                     "bidirectional", "ema_decay")  # fmt: skip


def report_checkpoint_differences(model_config: Any, ckpt_path: str, subcommand: str) -> None:
    """Exit with one line when ``ckpt_path`` holds another model or other networks than ``model_config``; warn about
    other differing hyper-parameters."""
    # mmap: only the small hyper-parameters are read here; the tensors are read once, when the run resumes
    hparams = read_checkpoint(Path(ckpt_path), mmap=True, trust_option=False).get("hyper_parameters", {})
    saved_class = hparams.get("_class_path")
    if model_config is None or saved_class is None:
        return  # not written by LightningCLI: the models' own on_load_checkpoint check applies
    config = model_config.as_dict() if hasattr(model_config, "as_dict") else dict(model_config)

    def lists(value: Any) -> Any:  # YAML gives lists where Python defaults are tuples: (0.5, 0.999) == [0.5, 0.999]
        if isinstance(value, dict):
            return {k: lists(v) for k, v in value.items()}
        return [lists(v) for v in value] if isinstance(value, (list, tuple)) else value

    # _flat shortens class paths: "translate.networks.generators.X" and "X" are one class
    theirs = _flat(lists({k: v for k, v in hparams.items() if not k.startswith("_")}))
    ours = _flat(lists(config.get("init_args") or {}))
    saved_name, own_name = saved_class.rsplit(".", 1)[-1], str(config.get("class_path")).rsplit(".", 1)[-1]
    differing = [k for k in sorted(set(theirs) & set(ours)) if theirs[k] != ours[k]]

    def listed(keys: list[str]) -> str:
        return "; ".join(f"{k}: checkpoint {theirs[k]}, config {ours[k]}" for k in keys[:8])

    if saved_name != own_name:
        sys.exit(f"translate {subcommand}: error: {ckpt_path} holds a {saved_name}, the config a {own_name}; use the "
                 "config the checkpoint was trained with, or start without --ckpt_path")  # fmt: skip
    architecture = [k for k in differing if k.startswith(ARCHITECTURE_KEYS)]
    if architecture:
        sys.exit(f"translate {subcommand}: error: {ckpt_path} holds a {saved_name} with other networks than the "
                 f"config ({listed(architecture)}); use the config it was trained with, or start without "
                 "--ckpt_path")  # fmt: skip
    if differing:
        rank_zero_warn(f"{ckpt_path}: the checkpoint's values are used where the config differs ({listed(differing)})")


def run_cli(args: list[str] | None) -> TranslateCLI:
    """Run ``fit``, ``validate`` or ``test`` as ``args`` (None: ``sys.argv``) say, with every model in
    translate.models and the data module ``data.class_path`` names (default: ``ImageDataModule``)."""
    # Lightning warns in 12 lines that a ModelCheckpoint with every_n_train_steps under manual optimisation saves
    # the state after the optimizer step: that is the state translate's exact resume needs (tests/test_train_longer.py).
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization and every_n_train_steps")
    # torch's deprecation inside Lightning's own pytree code: nothing a user of translate can change.
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    # Lightning cannot see that ImageDataModule resumes mid-epoch (its state_dict):
    # its "dataloader is not resumable" warning would be wrong for every translate run resumed mid-epoch.
    warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")
    # A data module without validation data returns [] from val_dataloader, which is how Lightning skips validation.
    warnings.filterwarnings("ignore", message="Total length of `list` across ranks is zero")
    return TranslateCLI(
        model_class=None,  # subclass mode: model.class_path picks CycleGAN, ...
        datamodule_class=LightningDataModule,
        subclass_mode_data=True,  # ImageDataModule unless data.class_path names another (add_arguments_to_parser)
        auto_configure_optimizers=False,  # models bring their own optimizers and schedules
        save_config_kwargs={"overwrite": True},
        parser_class=TranslateParser,
        parser_kwargs={"prog": "translate", "formatter_class": HelpFormatter, **SUBCOMMAND_HELP},
        args=args,
    )
