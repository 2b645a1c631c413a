"""jsonargparse's configuration errors, said in one line that names the option and, for a typo, the closest valid name.

jsonargparse reports a mistake inside a ``class_path`` block as a dump of every Union subtype it tried, after a usage
text of some forty lines. What a user needs is the option, what is wrong with its value, and the name they meant.
"""

import difflib
import importlib
import inspect
import math
import re
import traceback
from collections.abc import Iterator
from typing import Any

STRUCTURE = ("Parser key", "Does not validate", "Subtypes:", "Errors:", "Given value",
             "- Problem with given class_path", "- Expected a <class 'NoneType'>")  # fmt: skip
ALSO_TRIED = ("Expected a dot import path string", "Expected a path but")


def short_message(message: str, options: list[str]) -> str:
    """One line for jsonargparse's ``message``; ``options`` are the parser's option strings (for typos)."""
    if message.startswith("unrecognized arguments:"):
        typed = message.split(":", 1)[1].split()[0]
        return f"unknown option {typed}{_did_you_mean(typed, [o for o in options if o.startswith('--')])}"
    keys = re.findall(r'Parser key "([^"]+)"', message)
    path = keys[0] + "".join(f".init_args.{key}" for key in keys[1:]) if keys else "config"
    not_accepted = re.findall(r"Option '([^']+)' is not accepted", message)
    if not_accepted:
        return _unknown_argument(message, path, not_accepted[-1])
    bad_class = re.search(r"Expected a dot import path string: (\S+)", message)
    if bad_class and path == "model":
        from translate import models  # the names a model's class_path may take

        known = ", ".join(models.__all__)
        near = _did_you_mean(bad_class[1], models.__all__)
        return f"model.class_path: no model {bad_class[1]!r}{near} (the models: {known})"
    literals = [value for group in re.findall(r"Literal\[([^\]]*)\]", message) for value in group.split(", ")]
    given = re.search(r"(?:Given|Got) value: (.*)", message)
    if literals and given:
        value, choices = given[1].strip(), list(dict.fromkeys(literals))
        return f"{path}: {value} is not one of {', '.join(choices)}{_did_you_mean(repr(value), choices, quote=False)}"
    detail = [line.strip() for line in message.splitlines() if line.strip() and not line.strip().startswith(STRUCTURE)]
    # a float given as `nan` was also tried as a class (a dot import path) and a file: the float is what was meant
    detail = [line for line in detail if not line.lstrip("- ").startswith(ALSO_TRIED)] or detail
    if keys and detail:
        return f"{path}: {detail[-1].lstrip('- ')}"
    one_line = re.match(r'Parser key "[^"]+":\s*(.+)', message.strip())  # e.g. a --config file that does not exist
    return f"{path}: {one_line[1]}" if one_line else message.strip().splitlines()[0]


def _unknown_argument(message: str, path: str, typed: str) -> str:
    """``--model.init_args.lambda_cycl``: the class it was given to, and its closest argument name."""
    nested = re.search(r"NestedArg\(key='([^']+)'", message)
    where = f"{path.split('.')[0]}.init_args.{nested[1]}" if nested else f"{path}.init_args.{typed}"
    classes = re.findall(r"class_path[= ]'([\w.]+)'", message)
    names = _arguments(classes[-1]) if classes else []
    owner = f"{classes[-1].rsplit('.', 1)[-1]} has" if classes else "there is"
    return f"{where}: {owner} no option {typed!r}{_did_you_mean(typed, names)}"


def _arguments(class_path: str) -> list[str]:
    module, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
        return [p for p in inspect.signature(cls).parameters if p not in ("args", "kwargs")]
    except (ImportError, AttributeError, TypeError, ValueError):
        return []


def _did_you_mean(typed: str, names: list[str], *, quote: bool = True) -> str:
    close = difflib.get_close_matches(typed, names, n=1, cutoff=0.6)
    if not close:
        return ""
    return f"; did you mean {close[0]!r}?" if quote else f"; did you mean {close[0]}?"


def constructor_error(error: BaseException, config: dict) -> str | None:
    """One line for a ``ValueError`` that a class named in ``config`` (a parsed config as a dict) raised in its
    constructor, whether jsonargparse wrapped it in its Union report (data modules, models, callbacks) or it came
    later (an optimizer a model builds in ``configure_optimizers``): the option, then the class's own words. None
    when ``error`` is no such error (a bug somewhere keeps its traceback)."""
    raised = _original(error)
    if not isinstance(raised, ValueError):
        return None
    for frame, _ in reversed(list(traceback.walk_tb(raised.__traceback__))):  # innermost constructor first
        instance = frame.f_locals.get("self") if frame.f_code.co_name == "__init__" else None
        if instance is None:
            continue
        name = type(instance).__name__
        blocks = [(path, init_args) for path, class_path, init_args in _blocks(config)
                  if class_path.rsplit(".", 1)[-1] == name]  # fmt: skip
        if not blocks:
            continue
        path, init_args = max(blocks, key=lambda block: _agreeing(block[1], frame.f_locals))  # optimizer_g or _d?
        said = (str(raised).strip().splitlines() or [name])[0]
        words = re.findall(r"\w+", said)
        named = [arg for arg in sorted(init_args, key=lambda a: words.index(a) if a in words else len(words))
                 if arg in words]  # fmt: skip
        where = f"{path}.init_args.{named[0]}" if named and not path.endswith("]") else f"{path} ({name})"
        return f"{where.replace('data.init_args.', 'data.', 1)}: {said}"
    return None


def _original(error: BaseException) -> BaseException:
    """The exception at the bottom of a chain of wrappers (jsonargparse raises its report ``from`` the class's)."""
    seen = {id(error)}
    while error.__cause__ is not None and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    return error


def _blocks(config: Any, path: str = "") -> Iterator[tuple[str, str, dict]]:
    """(option path, class_path, init_args) of every ``class_path`` block in a config dict; list items as
    ``trainer.callbacks[3]``."""
    if isinstance(config, dict):
        if isinstance(config.get("class_path"), str):
            yield path, config["class_path"], config.get("init_args") or {}
        for key, value in config.items():
            yield from _blocks(value, f"{path}.{key}" if path else str(key))
    elif isinstance(config, list):
        for index, item in enumerate(config):
            yield from _blocks(item, f"{path}[{index}]")


def _agreeing(init_args: dict, arguments: dict) -> int:
    """How many of a block's ``init_args`` the constructor's arguments hold (NaN equal to NaN)."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        try:
            return bool(a == b) or (isinstance(a, list | tuple) and list(a) == list(b))
        except Exception:  # noqa: BLE001 (tensors and other values that do not compare to a bool)
            return False

    return sum(same(value, arguments[key]) for key, value in init_args.items() if key in arguments)
