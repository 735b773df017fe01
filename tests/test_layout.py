"""The package's layout (docs/architecture.rst): its modules import one another
without a circle, and only the net reaches into skorch's components."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "skhealth"


def _modules():
    """Every module of the package, by dotted name, with its syntax tree."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (path, ast.parse(path.read_text()))
    return modules


def _imports(name, path, tree, modules):
    """The package's modules that module ``name`` imports when it is imported
    (its top-level statements, not imports inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = (
                node.module
                if node.level == 0
                else ".".join(part for part in (base, node.module) if part)
            )
            # "from . import x" may name a module x
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules)
    return found - {name}


def _cycle(graph):
    """A list of modules that import one another in a circle, or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for successor in sorted(graph[node]):
            if state.get(successor) == "open":
                return [*trail[trail.index(successor) :], successor]
            if successor not in state:
                found = visit(successor, [*trail, successor])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_modules_import_one_another_without_a_circle():
    modules = _modules()
    graph = {
        name: _imports(name, path, tree, modules)
        for name, (path, tree) in modules.items()
    }
    assert graph["skhealth.model_files._state"] >= {"skhealth._estimator"}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]


def _skorch_internals(tree):
    """Where code reaches into a skorch net's components: its callbacks list,
    an optimizer's parameter groups by position, or a component's parameter
    read as ``net.component__name``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
            node.attr == "callbacks_"
            or ("__" in node.attr.strip("_") and not node.attr.startswith("__"))
        ):
            found.append((node.lineno, node.attr))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "param_groups"
        ):
            found.append((node.lineno, "param_groups[...]"))
    return found


def test_only_the_net_reaches_into_skorchs_components():
    reaching = {
        name: found
        for name, (path, tree) in _modules().items()
        if name != "skhealth._net" and (found := _skorch_internals(tree))
    }
    assert reaching == {}


def test_the_net_is_where_skorchs_components_are_reached():
    _, tree = _modules()["skhealth._net"]
    assert {attr for _, attr in _skorch_internals(tree)} >= {
        "callbacks_",
        "param_groups[...]",
        "criterion__weighting",
    }


def test_importing_skhealth_loads_no_torch_and_gives_its_modules_on_use():
    # a fresh interpreter: the test session has imported every module already
    code = (
        "import sys, skhealth\n"
        "assert 'torch' not in sys.modules\n"
        "from skhealth import MultiTaskHealthRegressor\n"
        "for name in skhealth._SUBMODULES:\n"
        "    assert getattr(skhealth, name).__name__ == f'skhealth.{name}'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_modules_imported_on_use_are_the_public_ones():
    import skhealth

    public = sorted(
        path.stem
        for path in PACKAGE.iterdir()
        if not path.name.startswith("_")
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    )
    assert sorted(skhealth._SUBMODULES) == public
