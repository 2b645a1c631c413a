"""The ``translate`` command: a table of subcommands (translate.commands), each imported when it is called.

``fit``, ``validate`` and ``test`` are LightningCLI (translate.training.cli); the others are argparse commands.
"""

import sys

from translate import __version__

USAGE = f"""translate {__version__}: GAN image-to-image translation on PyTorch Lightning

usage: translate COMMAND [options]

commands:
  fit        train a model:             translate fit --config configs/quickstart.yaml
  validate   run the validation loop:  translate validate --config CONFIG --ckpt_path CKPT
  test       run the test loop:        translate test --config CONFIG --ckpt_path CKPT
  predict    translate images:         translate predict --ckpt CKPT --input DIR|FILE... --output DIR  (or --onnx)
             (StarGAN: add --target-domain NAME|all, --grid, or --attrs A=1,B=0 [--attr-file LABELS])
  eval       FID and KID, as papers:   translate eval --ckpt CKPT --config CONFIG [--protocol cut|clean|torch-fidelity]
             (two folders made by anything: translate eval --real DIR --fake DIR)
  sample     images from noise:        translate sample --ckpt CKPT --num N --output DIR [--grid] [--seed S]
             (conditional GANs: --class NAME; VAE-GAN: --input DIR for reconstructions)
  data       get a dataset:            translate data download horse2zebra [--root datasets]
  export     ONNX or TorchScript:      translate export --ckpt CKPT --format onnx --output model.onnx
  serve      HTTP API and web page:    translate serve --ckpt CKPT [--host 127.0.0.1] [--port 8000]  (or --onnx)
  import     official weights:         translate import --g-ab latest_net_G_A.pth --output imported.ckpt
             (StarGAN: translate import --stargan 200000-G.ckpt --output imported.ckpt)
             (CUT, FastCUT: translate import --cut latest_net_G.pth --output imported.ckpt)

`translate COMMAND --help` lists each command's options; `translate fit --config C --print_config` shows the
full resolved configuration.
"""


# Each subcommand imports its module when called, so `translate --help` loads neither torch nor Lightning.


def fit(argv: list[str]) -> None:
    from translate.commands import train

    train.main(["fit", *argv])  # LightningCLI parses the subcommand itself


def validate(argv: list[str]) -> None:
    from translate.commands import train

    train.main(["validate", *argv])


def test(argv: list[str]) -> None:
    from translate.commands import train

    train.main(["test", *argv])


def predict(argv: list[str]) -> None:
    from translate.commands import predict

    predict.main(argv)


def sample(argv: list[str]) -> None:
    from translate.commands import sample

    sample.main(argv)


def data(argv: list[str]) -> None:
    from translate.commands import data

    data.main(argv)


def export(argv: list[str]) -> None:
    from translate.commands import export

    export.main(argv)


def import_weights(argv: list[str]) -> None:
    from translate.commands import import_weights

    import_weights.main(argv)


def serve(argv: list[str]) -> None:
    from translate.commands import serve

    serve.main(argv)


def evaluate(argv: list[str]) -> None:
    from translate.commands import eval as eval_command  # the module is named after the subcommand

    eval_command.main(argv)


COMMANDS = {"fit": fit, "validate": validate, "test": test, "predict": predict, "sample": sample, "data": data,
            "export": export, "import": import_weights, "serve": serve, "eval": evaluate}  # fmt: skip


def _log_to_stderr() -> None:
    """translate's INFO messages (the run summary, progress lines in jobs, what predict wrote) as plain lines."""
    import logging

    class StderrHandler(logging.StreamHandler):
        """Writes to whatever ``sys.stderr`` is when it logs: a caller that swaps it between calls of ``main`` (pytest's
        capture, a notebook) would otherwise leave the handler writing to a closed stream ("Logging error")."""

        @property
        def stream(self):
            return sys.stderr

        @stream.setter
        def stream(self, value) -> None:  # logging.StreamHandler.__init__ assigns it; sys.stderr is read instead
            pass

    logger = logging.getLogger("translate")
    if not logger.handlers:
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(args: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    _log_to_stderr()
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return
    if argv[0] in ("-V", "--version"):
        print(f"translate {__version__}")
        return
    if argv[0] in COMMANDS:
        COMMANDS[argv[0]](argv[1:])
        return
    sys.exit(f"translate: error: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)} (`translate --help`)")


if __name__ == "__main__":
    main()
