"""`translate serve` refuses bad options and missing files in one line before it binds a port."""

import pytest

from translate.cli import main
from translate.commands.serve import serve_parser


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ckpt", "nowhere.ckpt"], "translate serve: error: checkpoint nowhere.ckpt does not exist"),
        (["--onnx", "nowhere.onnx"], "translate serve: error: ONNX file nowhere.onnx does not exist"),
        (["--ckpt", "x.ckpt", "--max-batch", "0"], "translate serve: error: --max-batch must be >= 1, got 0"),
        (["--ckpt", "x.ckpt", "--max-pixels", "0"], "translate serve: error: --max-pixels must be >= 1, got 0"),
        (["--ckpt", "x.ckpt", "--max-wait-ms", "-1"], "translate serve: error: --max-wait-ms must be >= 0, got -1.0"),
        (
            ["--ckpt", "x.ckpt", "--port", "70000"],
            "translate serve: error: --port must be 1 to 65535, got 70000",
        ),  # #29
        (["--ckpt", "x.ckpt", "--port", "0"], "translate serve: error: --port must be 1 to 65535, got 0"),
    ],
)
def test_serve_mistakes_are_one_line(args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", *args])
    assert str(exit_info.value.code).startswith(message) and "\n" not in str(exit_info.value.code)


def test_serve_binds_to_localhost_unless_told():
    assert serve_parser().parse_args(["--ckpt", "x"]).host == "127.0.0.1"


def test_a_bad_device_names_serve_not_predict(tmp_path):
    with pytest.raises(SystemExit, match=r"^translate serve: error: --device 'gpu0' is not a device"):
        main(["serve", "--ckpt", "x.ckpt", "--device", "gpu0"])
