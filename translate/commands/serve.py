"""``translate serve``: a checkpoint or ONNX file behind an HTTP API and a web page (translate.serving)."""

import argparse
import sys

from translate.inference.devices import resolve_device


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translate serve",
        description="Serve a model: the page at /, POST /translate (an image in, its translation out, as `translate "
        "predict` writes it), GET /health and GET /info.",
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--ckpt", help="checkpoint written by `translate fit` or `translate import` (or its folder)")
    model.add_argument("--onnx", help="ONNX file written by `translate export`, run by onnxruntime")
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow a checkpoint that needs arbitrary pickled objects (only for files you trust)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 in a container)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")
    _add_limits(parser)
    return parser


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-batch",
        "--max_batch",
        type=int,
        default=8,
        help="most concurrent requests of one padded size translated together (default 8)",
    )
    parser.add_argument(
        "--max-wait-ms",
        "--max_wait_ms",
        type=float,
        default=5.0,
        help="how long a batch waits for more requests to fill it (default 5 ms)",
    )
    parser.add_argument(
        "--max-pixels",
        "--max_pixels",
        type=int,
        default=4096 * 4096,
        help="images with more pixels are refused with 413 (default 4096x4096)",
    )


def main(argv: list[str]) -> None:
    args = serve_parser().parse_args(argv)
    for option, value in (("--max-batch", args.max_batch), ("--max-pixels", args.max_pixels)):
        if value < 1:
            sys.exit(f"translate serve: error: {option} must be >= 1, got {value}")
    if not 1 <= args.port <= 65535:  # bind() would raise OverflowError from deep in asyncio, after loading the model
        sys.exit(f"translate serve: error: --port must be 1 to 65535, got {args.port}")
    if args.max_wait_ms < 0:
        sys.exit(f"translate serve: error: --max-wait-ms must be >= 0, got {args.max_wait_ms}")
    try:
        import uvicorn

        from translate.serving.app import create_app
        from translate.serving.model import ServedModel
    except ImportError as error:
        sys.exit(
            f"translate serve: error: {error.name} is missing; install the server with pip install 'translate[serve]'"
        )
    try:
        device = resolve_device(args.device)
        if args.onnx:
            from translate.inference.onnx import OnnxTranslator

            model = OnnxTranslator(args.onnx, device)
        else:
            from translate.inference.loading import load_model

            model = load_model(args.ckpt, device=device, trust=args.trust_checkpoint)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"translate serve: error: {error}")
    app = create_app(
        ServedModel(model, max_pixels=args.max_pixels), max_batch=args.max_batch, max_wait_s=args.max_wait_ms / 1000
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
