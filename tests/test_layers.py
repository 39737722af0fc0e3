"""The package's layers, from the imports themselves: a module imports only from its own layer or
the ones below it, so the domain never reaches for Telegram, words or the process's wiring."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# Bottom to top. A package or module named here takes the layer of its line.
LAYERS = [
    {"crossing", "sources", "symbols", "limits", "i18n", "metrics", "settings", "logs", "memory", "memtrace"},  # shared facts and tools
    {"storage", "exchange", "charts"},  # the database, Binance, drawing: each knows nothing of the others' users
    {"alerts"},  # the domain: what fires, what a command does; facts, no words
    {"texts"},  # words for the facts
    {"notify", "webapp"},  # the edges that speak to users without a handler: the sender, the Mini App
    {"telegram"},  # handlers
    {"runtime"},  # the composition root and the process's roles
    {"cli", "__main__"},
]


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "bot" or len(parts) < 2:
        return None
    for number, names in enumerate(LAYERS):
        if parts[1] in names:
            return number
    return None


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_every_module_of_the_package_has_a_layer() -> None:
    unplaced = [str(path.relative_to(BOT)) for path in BOT.rglob("*.py")
                if path.name != "__init__.py" or path.parent != BOT
                if layer_of("bot." + ".".join(path.relative_to(BOT).with_suffix("").parts)) is None]
    assert unplaced == []


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for path in BOT.rglob("*.py"):
        own = layer_of("bot." + ".".join(path.relative_to(BOT).with_suffix("").parts))
        if own is None:
            continue
        for module in imports_of(path):
            other = layer_of(module)
            if other is not None and other > own:
                upward.append(f"{path.relative_to(BOT)} -> {module}")
    assert upward == []


def test_the_domain_never_imports_telegram_or_websockets() -> None:
    for path in (BOT / "alerts").rglob("*.py"):
        for module in imports_of(path):
            assert module.split(".")[0] not in {"telegram", "websockets", "aiohttp"}, f"{path.name} imports {module}"


def test_pip_install_carries_every_package_of_bot() -> None:
    """pyproject.toml lists its packages by name: a new folder of bot/ missing there works from the
    repository and is missing from `pip install .`."""
    import tomllib

    listed = set(tomllib.loads((BOT.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {"bot." + ".".join(init.parent.relative_to(BOT).parts) if init.parent != BOT else "bot"
               for init in BOT.rglob("__init__.py")}
    assert folders - listed == set()
