"""The package's shape: folders by layer of the architecture, each module importing only its own layer or those below
it, no import circle, a small package root and no overgrown module (read from the source with `ast`)."""

import ast
import pathlib

import networkx as nx
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "ladderae"
# Bottom to top: a module may import from its own layer and the layers before it.
LAYERS = ["", "graph", "nn", "pair_kinds", "data", "evaluation", "models", "plots", "cli"]
MAX_LINES = 450
MAX_ROOT_MODULES = 6


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path):
    """The ladderae modules that the module at `path` imports (at its top or inside a function: both are needs)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("ladderae"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ladderae"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


def layer(module):
    """The folder a module sits in ("" for the package root and its modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and MODULES[module].name == "__init__.py") else ""


def import_graph():
    g = nx.DiGraph()
    for module, path in MODULES.items():
        g.add_node(module)
        g.add_edges_from((module, imported) for imported in imports(path) if imported != module)
    return g


def test_no_import_circle():
    cycles = list(nx.simple_cycles(import_graph().subgraph(m for m in MODULES if m != "ladderae")))
    assert cycles == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "ladderae"))
def test_a_module_imports_only_its_layer_and_those_below(module):
    rank = LAYERS.index(layer(module))
    above = sorted(m for m in imports(MODULES[module]) if LAYERS.index(layer(m)) > rank or m == "ladderae")
    assert above == [], f"{module} ({layer(module) or 'root'}) imports from above its layer"


def test_the_package_root_holds_a_few_shared_modules():
    assert len(list(PACKAGE.glob("*.py"))) <= MAX_ROOT_MODULES
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(LAYERS[1:])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_overgrown(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_LINES


KIND_CLASSES = {"PairKind", "Consistency", "Lateral", "Stochastic", "BottomUp"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) != "pair_kinds"))
def test_no_model_branches_on_a_pair_kinds_class(module):
    """Outside the pair kinds, a kind is asked what it can do (`PairKind`'s capabilities), never tested by class."""
    tree = ast.parse(MODULES[module].read_text())
    tested = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Call)
              and getattr(node.func, "id", None) in ("isinstance", "issubclass")
              and {getattr(n, "id", getattr(n, "attr", None)) for n in ast.walk(node.args[1])} & KIND_CLASSES]
    assert tested == []


WALKERS = ["ladderae.nn.walk", "ladderae.nn.ladder_walk", "ladderae.nn.stop_gradient",
           *sorted(m for m in MODULES if layer(m) == "pair_kinds")]


@pytest.mark.parametrize("module", WALKERS)
def test_a_pass_sets_no_attribute_of_the_network_or_a_kind(module):
    """What a pass needs travels in its `WalkContext`: outside construction and building, no method of the walk
    or of a pair kind assigns an attribute of itself or of the network it is given."""
    setters = []
    for function in ast.walk(ast.parse(MODULES[module].read_text())):
        if not isinstance(function, ast.FunctionDef) or function.name in ("__init__", "build", "build_layers"):
            continue
        for node in ast.walk(function):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            setters += [f"{function.name}: {ast.unparse(t)}" for t in targets if isinstance(t, ast.Attribute)
                        and getattr(t.value, "id", None) in ("self", "network")]
    assert setters == []
