"""Who may import whom (docs/architecture.md, "Layers"), checked on the source with `ast`.

Every module of crm, leads and sla (migrations aside) gets a layer from LAYERS. Domain code
(models, services, selectors, the lifecycle, rights, the SLA engine, the outbox...) imports
only domain code; interface code (pages, API, filters, template tags, commands, tasks,
admin, the dashboard, demo loaders) and wiring (settings, Celery app, WSGI) may import
anything. `crm` core imports no app, `leads` reaches `sla` only through `sla.clocks`, and no
module imports itself round a cycle. Function-local imports count like the others, and so
does `import_string("a.b.c")` with a literal path: both are ways to hide a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

# Today's violations, each with what removes it. The test fails on any violation not listed
# here and on any entry that no longer happens, so this set only shrinks: delete an entry
# with the change that fixes it.
KNOWN_VIOLATIONS: frozenset[str] = frozenset()

APPS = ("crm", "leads", "sla")
DOMAIN, INTERFACE, WIRING = "domain", "interface", "wiring"

# Dotted module names (fnmatch patterns) and their layer; the first match wins. A module no
# pattern matches fails the test: a new module is classified on purpose, here.
LAYERS: tuple[tuple[str, str], ...] = (
    # Interface: what people and systems talk to.
    ("*.views", INTERFACE),
    ("*.forms", INTERFACE),
    ("*.urls", INTERFACE),
    ("*.admin", INTERFACE),
    ("*.tasks", INTERFACE),
    ("*.api", INTERFACE),
    ("*.api.*", INTERFACE),
    ("*.api_serializers", INTERFACE),
    ("*.filters", INTERFACE),
    ("*.pagination", INTERFACE),
    ("*.templatetags", INTERFACE),
    ("*.templatetags.*", INTERFACE),
    ("*.management", INTERFACE),
    ("*.management.*", INTERFACE),
    ("*.demo", INTERFACE),
    ("crm.dashboard", INTERFACE),  # the dashboard's figures, gathered from the apps
    ("crm.my_work", INTERFACE),  # each person's home page, gathered from the apps
    ("sla.scorecards", INTERFACE),  # the dashboard's SLA half
    ("sla.wording", INTERFACE),  # policies said in words, for pages
    ("crm.context_processors", INTERFACE),
    ("crm.middleware", INTERFACE),
    ("crm.signin", INTERFACE),
    ("crm.health", INTERFACE),  # liveness and readiness probes, gathered from the apps
    ("crm.monitoring", INTERFACE),  # the Prometheus scrape, gathered from the apps
    ("crm.logs", INTERFACE),  # request and task log lines: a middleware, Celery signals
    # Wiring: the project package itself.
    ("crm", WIRING),
    ("crm.settings", WIRING),
    ("crm.celery", WIRING),
    ("crm.wsgi", WIRING),
    ("crm.asgi", WIRING),
    ("*.apps", WIRING),
    # Domain: the rules and the data.
    ("leads", DOMAIN),
    ("sla", DOMAIN),
    ("*.models", DOMAIN),
    ("*.services", DOMAIN),
    ("*.services.*", DOMAIN),
    ("*_services", DOMAIN),
    ("*.selectors", DOMAIN),
    ("crm.csv_files", DOMAIN),
    ("crm.errors", DOMAIN),
    ("crm.keys", DOMAIN),
    ("crm.rights", DOMAIN),
    ("crm.notifications", DOMAIN),
    ("crm.outbox", DOMAIN),
    ("crm.digest", DOMAIN),  # gathering held e-mails into a digest
    ("crm.set_insert", DOMAIN),
    ("crm.prepared", DOMAIN),  # statements prepared once per database session
    ("crm.rows", DOMAIN),  # model instances from plain SELECTs
    ("crm.circuit", DOMAIN),
    ("crm.replica", DOMAIN),
    ("leads.lifecycle", DOMAIN),
    ("leads.definitions", DOMAIN),
    ("leads.periods", DOMAIN),
    ("leads.permissions", DOMAIN),
    ("leads.search", DOMAIN),
    ("sla.business_time", DOMAIN),
    ("sla.clocks", DOMAIN),
    ("sla.commitments", DOMAIN),
    ("sla.escalation", DOMAIN),
    ("sla.sweep", DOMAIN),
    ("sla.sweep_sql", DOMAIN),
    ("sla.routing", DOMAIN),
    ("sla.availability", DOMAIN),
    ("sla.exemptions", DOMAIN),
    ("sla.webhooks", DOMAIN),
    ("sla.webhook_targets", DOMAIN),
    ("sla.public_holidays", DOMAIN),
    ("sla.metrics", DOMAIN),  # the metric catalogue and its computations
    ("sla.metrics.*", DOMAIN),
    ("sla.review", DOMAIN),  # the joint review: periods, sections, decisions, digest
    ("sla.review.*", DOMAIN),
)

# The one module through which leads' domain code reaches the SLA engine.
CLOCK_HOOK = "sla.clocks"
# Calls whose literal argument names a module to load at run time.
STRING_IMPORTS = {"import_string", "import_module"}


@dataclass(frozen=True)
class Module:
    name: str
    is_package: bool
    tree: ast.Module


def parse_modules(sources: Mapping[str, str]) -> dict[str, Module]:
    """{"leads/services.py": source, ...} as modules by dotted name."""
    modules = {}
    for path, source in sources.items():
        parts = path.removesuffix(".py").split("/")
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = Module(name, is_package, ast.parse(source, filename=path))
    return modules


def layer_of(name: str) -> str | None:
    return next((layer for pattern, layer in LAYERS if fnmatchcase(name, pattern)), None)


def app_of(name: str) -> str:
    return name.split(".")[0]


def _resolve(dotted: str, known: Mapping[str, Module]) -> str | None:
    """The project module a dotted path names: its longest prefix that is a module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _imported_paths(module: Module) -> Iterator[str]:
    """Every dotted path the module imports, wherever the import statement sits."""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `.` is this package, each further dot one level up
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            path = (
                node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            )
            if called in STRING_IMPORTS and isinstance(path, str):
                yield path


def import_graph(modules: Mapping[str, Module]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (`from a import b` counts a.b if a module)."""
    graph: dict[str, set[str]] = {}
    for module in modules.values():
        targets = {_resolve(path, modules) for path in _imported_paths(module)}
        graph[module.name] = {t for t in targets if t is not None and t != module.name}
    return graph


def _import_violations(importer: str, imported: str) -> Iterator[str]:
    if layer_of(importer) != DOMAIN:
        return
    if layer_of(imported) != DOMAIN:
        yield f"{importer} -> {imported}: domain imports {layer_of(imported)}"
    elif app_of(importer) == "crm" and app_of(imported) != "crm":
        yield f"{importer} -> {imported}: crm core imports no app"
    elif app_of(importer) == "leads" and app_of(imported) == "sla" and imported != CLOCK_HOOK:
        yield f"{importer} -> {imported}: leads reaches sla only through {CLOCK_HOOK}"


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The graph's cycles as groups of modules that all reach each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
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
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def violations(sources: Mapping[str, str]) -> set[str]:
    """Every broken rule in these sources, one line each."""
    modules = parse_modules(sources)
    graph = import_graph(modules)
    found = {f"{name}: not in the layer table" for name in modules if layer_of(name) is None}
    for importer, targets in graph.items():
        for imported in targets:
            found.update(_import_violations(importer, imported))
    found.update(f"import cycle: {', '.join(group)}" for group in strongly_connected(graph))
    domain = {
        name: {t for t in targets if layer_of(t) == DOMAIN}
        for name, targets in graph.items()
        if layer_of(name) == DOMAIN
    }
    found.update(
        f"domain import cycle between apps: {', '.join(group)}"
        for group in strongly_connected(domain)
        if len({app_of(name) for name in group}) > 1
    )
    return found


def project_sources() -> dict[str, str]:
    root = Path(__file__).resolve().parent.parent
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for app in APPS
        for path in sorted((root / app).rglob("*.py"))
        if "migrations" not in path.relative_to(root).parts
    }


# ---------------------------------------------------------------- the project


def test_it_finds_no_violation_beyond_the_known_ones() -> None:
    new = violations(project_sources()) - KNOWN_VIOLATIONS

    heading = "Layering broken (docs/architecture.md, Layers):"
    assert not new, "\n".join([heading, *sorted(new)])


def test_it_lists_no_known_violation_that_is_gone() -> None:
    gone = KNOWN_VIOLATIONS - violations(project_sources())

    heading = "No longer found (fixed, or now inside a larger cycle); delete from KNOWN_VIOLATIONS:"
    assert not gone, "\n".join([heading, *sorted(gone)])


def test_it_reads_every_app_module() -> None:
    names = set(parse_modules(project_sources()))

    assert {"crm.models", "crm.api.errors", "leads.services", "sla.models"} <= names
    assert not any(".migrations" in name for name in names)


# ---------------------------------------------------------------- the checker itself


SYNTHETIC = {
    "crm/__init__.py": "",
    "crm/models.py": "from django.db import models\n",
    "crm/outbox.py": (
        "from django.utils.module_loading import import_string\n"
        "HANDLER = import_string('sla.webhooks.deliver')\n"
    ),
    "crm/api/__init__.py": "",
    "crm/api/errors.py": "from crm.models import User\n",
    "leads/__init__.py": "",
    "leads/models.py": "from crm import models\n",
    "leads/services.py": (
        "from leads.models import Lead\n"
        "from sla.clocks import clocks_on_lead_event\n"
        "def lead_create():\n"
        "    from crm.api.errors import ApiProblem\n"
        "    from sla.models import SlaClock\n"
    ),
    "leads/views.py": "from leads.services import lead_create\nfrom sla import models\n",
    "sla/__init__.py": "",
    "sla/models.py": "from leads.models import Lead\n",
    "sla/clocks.py": "from .models import SlaClock\nfrom leads import services\n",
    "sla/webhooks.py": "import sla.models\nimport crm.api.errors\n",
    "sla/sweep.py": "from sla.tasks import notify\n",
    "sla/tasks.py": "def sweep():\n    from sla.sweep import run\n",
    "sla/reports.py": "",
}


def test_its_checker_reports_each_kind_of_violation() -> None:
    assert violations(SYNTHETIC) == {
        "sla.reports: not in the layer table",
        "crm.outbox -> sla.webhooks: crm core imports no app",
        "leads.services -> crm.api.errors: domain imports interface",
        "sla.webhooks -> crm.api.errors: domain imports interface",
        "leads.services -> sla.models: leads reaches sla only through sla.clocks",
        "sla.sweep -> sla.tasks: domain imports interface",
        "import cycle: sla.sweep, sla.tasks",
        "import cycle: leads.services, sla.clocks",
        "domain import cycle between apps: leads.services, sla.clocks",
    }


def test_its_checker_passes_a_clean_module_set() -> None:
    clean = {
        path: source
        for path, source in SYNTHETIC.items()
        if path not in {"crm/outbox.py", "sla/sweep.py", "sla/reports.py", "sla/clocks.py"}
    }
    clean["leads/services.py"] = "from leads.models import Lead\nfrom sla.clocks import start\n"
    clean["sla/clocks.py"] = "from .models import SlaClock\nfrom leads.models import Lead\n"
    clean["sla/webhooks.py"] = "import sla.models\n"

    assert violations(clean) == set()


@pytest.mark.parametrize(
    ("name", "layer"),
    [
        ("leads.services", DOMAIN),
        ("leads.services.transitions", DOMAIN),
        ("leads.batch_services", DOMAIN),
        ("sla.clocks", DOMAIN),
        ("crm.api.idempotency", INTERFACE),
        ("sla.api_serializers", INTERFACE),
        ("crm.templatetags.figures", INTERFACE),
        ("sla.management.commands.sla_sweep", INTERFACE),
        ("crm.settings", WIRING),
        ("leads.newly_added", None),
    ],
)
def test_its_layer_table_classifies_by_module_path(name: str, layer: str | None) -> None:
    assert layer_of(name) == layer
