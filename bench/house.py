"""The shape of the house in figures: the largest modules, `# fmt: skip` markers, import circles.

Reads the source only (no database): modules outside migrations, tests and bench/, and the
imports between modules of the same app, including those inside functions (a deferred import
still ties two modules together).

    .venv/bin/python bench/house.py [--largest 10]
"""

import argparse
import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("bonding", "customers", "nps", "programs", "webhooks", "events")
RESULTS = ROOT / "bench" / "results"
# The formatter's marker as a trailing comment (not where prose mentions it).
FMT_SKIP = re.compile(r"#\s*fmt:\s*skip\s*$")


def source_files() -> list[Path]:
    """Python modules of the apps, outside migrations."""
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project's modules this one imports (`from a import b` counts b when b is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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
    return sorted(groups)


def figures(largest: int) -> dict:
    files = source_files()
    modules = {module_name(path): path for path in files}
    same_app = {
        name: {
            other
            for other in imports_of(path, set(modules))
            if other != name and other.split(".")[0] == name.split(".")[0]
        }
        for name, path in modules.items()
    }
    sizes = sorted(
        ((len(path.read_text().splitlines()), str(path.relative_to(ROOT))) for path in files),
        reverse=True,
    )
    python_files = [
        path
        for path in ROOT.rglob("*.py")
        if not {".venv", "var", "node_modules"} & set(path.relative_to(ROOT).parts)
    ]
    return {
        "largest_modules": [{"lines": lines, "path": path} for lines, path in sizes[:largest]],
        "modules_over_600_lines": sum(1 for lines, _ in sizes if lines > 600),
        "fmt_skip_markers": sum(
            1
            for path in python_files
            for line in path.read_text().splitlines()
            if FMT_SKIP.search(line)
        ),
        "import_circles": circles(same_app),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--largest", type=int, default=10)
    found = figures(parser.parse_args().largest)
    for module in found["largest_modules"]:
        print(f"{module['lines']:6d}  {module['path']}")
    print(f"modules over 600 lines: {found['modules_over_600_lines']}")
    print(f"`# fmt: skip` markers: {found['fmt_skip_markers']}")
    print(f"import circles within an app: {len(found['import_circles'])}")
    for group in found["import_circles"]:
        print("  " + " <-> ".join(group))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "house.json").write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
