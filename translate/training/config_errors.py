"""jsonargparse's configuration errors, said in one line that names the option and, for a typo, the closest valid name.

jsonargparse reports a mistake inside a ``class_path`` block as a dump of every Union subtype it tried, after a usage
text of some forty lines. What a user needs is the option, what is wrong with its value, and the name they meant.
"""

import difflib
import importlib
import inspect
import re

STRUCTURE = ("Parser key", "Does not validate", "Subtypes:", "Errors:", "Given value",
             "- Problem with given class_path", "- Expected a <class 'NoneType'>")  # fmt: skip


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
