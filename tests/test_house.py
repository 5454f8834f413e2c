"""The house holds itself (DESIGN.md "The house", README "Where things are"): read every module of
the package with ``ast`` (function-level imports included, ``TYPE_CHECKING`` blocks left out: they
never run), build the import graph, and refuse a circle, an import up the layers, and a setting
declared twice. No external tool: the reading is a few dozen lines, and fast."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "venice_nb"

# Lowest first. A module may import its own layer (no circle) and those below, never above.
LAYERS: list[set[str]] = [
    {
        "text",
        "version",
        "retry_headers",
        "retry",
        "ratelimit",
        "metadata",
        "images_stream",
        "fuzzy",
        "image_format",
        "redact",
        "pyargs",
        "magic_args",
    },
    {"errors"},
    {
        "urls",
        "network",
        "apikey",
        "catalogue",
        "wire",
        "saving",
        "maker",
        "lineage",
        "images_convert",
        "account",
        "inflight",
    },
    {"manifest", "contact"},  # batch files and sheets: read and write files, import errors only
    {"result", "settings"},
    {"images_in", "responses", "cache", "batch_result", "display"},
    {"operations"},
    {
        "verbs",
        "jobs",
        "parse",
        "prompts",
        "transport",
        "classroom",
    },  # classroom: the optional gateway
    {"client"},
    {"preflight", "sweep"},
    {"session"},
    {"run", "toolbox", "batches", "panel.worker", "panel.widgets"},
    {"toolbox_magic", "panel.app", "panel", "line_commands"},
    {"magics"},
    {""},  # the package face, venice_nb/__init__.py
]
# The one way up: a result's _repr_mimebundle_ asks display/ for its HTML when Jupyter shows it.
REPR_PLUG = {("result", "display")}
WALL = "server"  # the local preview server imports nothing of the package outside itself


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imports_of(name: str) -> dict[str, int]:
    """The package modules ``name`` imports at run time, each with the line of its first import."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    here = [p for p in here if p]
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("venice_nb"):
                origin = (node.module or "").removeprefix("venice_nb").lstrip(".")
            else:
                continue
            for alias in node.names:
                child = f"{origin}.{alias.name}".lstrip(".")
                targets.append(child if child in MODULES else origin)
        elif isinstance(node, ast.Import):
            targets = [
                a.name.removeprefix("venice_nb").lstrip(".")
                for a in node.names
                if a.name.split(".")[0] == "venice_nb"
            ]
        for target in targets:
            if target in MODULES and target != name:
                found.setdefault(target, node.lineno)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    """The layer of a module: its own entry, else its package's (``display.html`` -> display)."""
    probe = name
    while True:
        for index, layer in enumerate(LAYERS):
            if probe in layer:
                return index
        if "." not in probe:
            raise LookupError(name)
        probe = probe.rpartition(".")[0]


def group(name: str) -> str:
    return name.split(".")[0]


def test_every_module_has_a_layer() -> None:
    missing = [n for n in MODULES if not n.startswith(WALL) and _layer_or_none(n) is None]
    assert not missing, f"add these modules to LAYERS in tests/test_house.py: {missing}"


def _layer_or_none(name: str) -> int | None:
    try:
        return layer_of(name)
    except LookupError:
        return None


def test_no_import_goes_up_the_layers() -> None:
    upward = []
    for name, targets in GRAPH.items():
        if name.startswith(WALL):
            continue
        for target, line in targets.items():
            if (group(name), group(target)) in REPR_PLUG or target.startswith(WALL):
                continue
            if layer_of(target) > layer_of(name):
                upward.append(
                    f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {target}"
                )
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_the_server_is_a_wall() -> None:
    leaks = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name.startswith(WALL)
        for target in targets
        if not target.startswith(WALL)
    ]
    assert not leaks


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_only_circle_is_the_repr_plug() -> None:
    without_plug = {
        name: {t: line for t, line in targets.items() if (group(name), group(t)) not in REPR_PLUG}
        for name, targets in GRAPH.items()
    }
    assert circles(without_plug) == []
    # and the plug itself is still the one known circle (result -> display -> result)
    assert any("result" in c and "display.html" in c for c in circles(GRAPH))


def test_the_reader_sees_function_level_imports_and_a_circle() -> None:
    """The test can fail: a function-level import is an edge, and two modules importing each
    other are a circle."""
    assert "display.html" in GRAPH["result"]  # imported inside _repr_mimebundle_ only
    assert circles({"a": {"b": 1}, "b": {"a": 2}, "c": {}}) == [["a", "b"]]
    with pytest.raises(LookupError):
        layer_of("no_such_module")


# Modules whose own package imports sit at the top (none of them is imported by %load_ext): a
# function-level import there only hides an edge. magics.py, result.py and the package face stay
# lazy on purpose (tests/test_load.py), as do PIL, requests, ipywidgets, starlette and httpx.
TOP_LEVEL_ONLY = (
    "batches",
    "prompts",
    "classroom.student",
    "account",
    "display",
    "panel",
    "line_commands",
    "magic_args",
)


def function_level_imports(name: str) -> list[str]:
    """``name``'s imports of package modules made inside a function (TYPE_CHECKING left out)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    skipped = _type_checking_only(tree)
    return [
        f"{name}:{node.lineno} {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and id(node) not in top
        and id(node) not in skipped
        and (node.level or (node.module or "").startswith("venice_nb"))
    ]


def test_the_light_modules_import_the_package_at_the_top() -> None:
    chosen = [n for n in MODULES if n in TOP_LEVEL_ONLY or group(n) in ("display", "panel")]
    assert {"batches", "panel.app", "display.lineage"} <= set(chosen)
    assert [line for name in chosen for line in function_level_imports(name)] == []
    assert function_level_imports("magics")  # the reader finds them where they are


# ---- settings: declared once, in settings.py ---------------------------------------------------


TRAITS = {"Any", "Bool", "CaselessStrEnum", "Enum", "Float", "Int", "Integer", "Unicode"}


def setting_defaults() -> dict[str, object]:
    """Each setting of ``Settings`` and its default when it is a literal (else ``...``)."""
    tree = ast.parse(MODULES["settings"].read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"]
    found: dict[str, object] = {}
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            assert stmt.target.id not in found, f"setting {stmt.target.id} declared twice"
            found[stmt.target.id] = _default(stmt.value)
    return found


def _default(value: ast.expr | None) -> object:
    if isinstance(value, ast.Call) and ast.unparse(value.func) == "field":
        value = next((k.value for k in value.keywords if k.arg == "default"), None)
    try:
        return ast.literal_eval(value) if value is not None else ...
    except ValueError:
        return ...


def test_each_setting_is_declared_once_in_settings() -> None:
    names = setting_defaults()
    assert {"concurrency", "max_retries", "save_dir"} <= names.keys()


def test_no_setting_is_declared_again_elsewhere() -> None:
    """Outside settings.py, a trait named after a setting (traits come from
    ``setting_trait(name)``), or an attribute or constant named after one with the same default,
    is a second declaration that would drift from the first."""
    defaults = setting_defaults()
    spelled = {
        spelling: name
        for name in defaults
        for spelling in (name, name.upper(), f"DEFAULT_{name.upper()}")
    }
    again = []
    for module, path in MODULES.items():
        if module == "settings" or module.startswith(WALL):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef))]
        for scope in scopes:
            for stmt in scope.body:  # type: ignore[attr-defined]
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    target, value = stmt.targets[0], stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    target, value = stmt.target, stmt.value
                else:
                    continue
                if not isinstance(target, ast.Name) or target.id not in spelled:
                    continue
                setting = spelled[target.id]
                func = ast.unparse(value.func) if isinstance(value, ast.Call) else ""
                if func == "setting_trait":
                    ok = [ast.literal_eval(a) for a in value.args] == [setting]  # type: ignore[union-attr]
                else:
                    trait = func.rpartition(".")[2] in TRAITS
                    ok = not trait and (
                        defaults[setting] is ... or _default(value) != defaults[setting]
                    )
                if not ok:
                    again.append(f"{path.relative_to(PACKAGE.parent)}:{stmt.lineno} {target.id}")
    assert not again, "settings declared outside settings.py:\n" + "\n".join(again)
