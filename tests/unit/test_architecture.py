"""The rooms hold: checked on the source, as a reviewer would with grep.

- only api/settings.py reads the environment;
- read models (projections/) never reach for the key store, a signer or the
  applications that hold them: a projection turns events into rows, nothing else;
- imports go api → projections → ca → domain, never back, and no module imports itself
  round a circle (lazy imports inside functions count);
- no module in ca/, projections/ or api/ is over 300 lines.

Each check is a function over (module name, source) pairs, and each is shown to catch a
planted offence, so none of them passes by being unable to fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "ca", "projections", "api")
LAYER = {"domain": 0, "ca": 1, "projections": 2, "api": 3}
MAX_LINES = 300
SETTINGS_MODULE = "api.settings"
# what a read model may not use: keys, signers, and the applications that hold them
FORBIDDEN_IN_PROJECTIONS = ("ca.keys", "ca.encoding.signers", "ca.encoding.sm2",
                            "ca.applications.responders", "ca.applications.hierarchy",
                            "ca.applications.certificates", "ca.applications.issuing",
                            "ca.processes")

Source = tuple[str, str]  # (dotted module name, text)


def sources() -> list[Source]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            found.append((".".join(parts), path.read_text(encoding="utf-8")))
    return found


def imports(module: str, text: str) -> set[str]:
    """Every module ``text`` imports, at the top or inside functions."""
    found: set[str] = set()
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def environment_readers(modules: Iterable[Source]) -> list[str]:
    # os.environ, os.getenv, "from os import environ"; a WSGI request's environ is not it
    pattern = re.compile(r"\bos\.environ\b|\bgetenv\s*\(|\bfrom\s+os\s+import\s+.*\benviron\b")
    return [name for name, text in modules
            if name != SETTINGS_MODULE and pattern.search(text)]


def projections_reaching_for_keys(modules: Iterable[Source]) -> list[str]:
    return sorted(f"{name} imports {target}" for name, text in modules
                  if name.startswith("projections") for target in imports(name, text)
                  if target.startswith(FORBIDDEN_IN_PROJECTIONS))


def imports_going_back(modules: Iterable[Source]) -> list[str]:
    offences = []
    for name, text in modules:
        layer = LAYER[name.split(".")[0]]
        for target in sorted(imports(name, text)):
            top = target.split(".")[0]
            if top in LAYER and LAYER[top] > layer:
                offences.append(f"{name} imports {target}")
    return offences


def import_circles(modules: Iterable[Source]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    texts = dict(modules)
    graph = {name: sorted(target for target in imports(name, text) if target in texts
                          and target != name) for name, text in texts.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def long_modules(modules: Iterable[Source]) -> list[str]:
    return [f"{name} ({text.count(chr(10))} lines)" for name, text in modules
            if name.split(".")[0] in ("ca", "projections", "api")
            and text.count("\n") > MAX_LINES]


# ---- the code as it is ---------------------------------------------------------------------

def test_only_the_settings_module_reads_the_environment() -> None:
    assert environment_readers(sources()) == []


def test_no_read_model_imports_the_key_store_or_a_signer() -> None:
    assert projections_reaching_for_keys(sources()) == []


def test_imports_go_one_way() -> None:
    assert imports_going_back(sources()) == []


def test_no_import_circles() -> None:
    assert import_circles(sources()) == []


def test_no_module_over_300_lines() -> None:
    assert long_modules(sources()) == []


# ---- the checks catch what they are for -----------------------------------------------------

def test_the_checks_find_planted_offences() -> None:
    planted: list[Source] = [
        ("ca.sneaky", "import os\nPORT = os.environ.get('PORT')\n"),
        ("projections.signing_view", "from ca.keys.keystore import KeyStore\n"),
        ("projections.lazy", "def f():\n    from ca.encoding import sm2\n"),
        ("domain.upward", "from ca.policy import profiles\n"),
        ("api.one", "from api import two\n"),
        ("api.two", "def g():\n    from api.one import x\n"),
        ("api.big", "x = 1\n" * (MAX_LINES + 1)),
        ("api.settings", "import os\nos.environ.get('X')\n"),
    ]
    assert environment_readers(planted) == ["ca.sneaky"]
    assert projections_reaching_for_keys(planted) == [
        "projections.lazy imports ca.encoding.sm2",
        "projections.signing_view imports ca.keys.keystore",
        "projections.signing_view imports ca.keys.keystore.KeyStore"]
    assert imports_going_back(planted) == ["domain.upward imports ca.policy",
                                           "domain.upward imports ca.policy.profiles"]
    assert import_circles(planted) == [["api.one", "api.two"]]
    assert long_modules(planted) == [f"api.big ({MAX_LINES + 1} lines)"]
