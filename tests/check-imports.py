#!/usr/bin/env python3
"""Fails when the server's top-level modules import each other in a cycle.

Reads every `crate::<module>` path in server/src (comments left out) and builds the graph of
top-level modules (a folder such as `threads/` or a file such as `users.rs` is one module).
`state.rs` is the composition root: `AppState` holds one handle of each area (the hub, the
post writer, file storage) and every area reads it, so the edges out of `state` are left out;
any other cycle is an error, printed with the files that make each edge. Unit-test modules
(`#[cfg(test)] mod ... { }`) are left out: a test may build the whole application.

    python3 tests/check-imports.py            # exit 1 on a cycle
    python3 tests/check-imports.py --graph    # also print every module's imports
"""

import collections
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "server" / "src"
COMPOSITION_ROOT = "state"

LINE_COMMENT = re.compile(r"//.*")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{")
GROUP = re.compile(r"crate::\{([^}]*)\}", re.S)
SINGLE = re.compile(r"crate::([a-z_][a-z0-9_]*)")


def module_of(path: pathlib.Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".rs")


def without_test_modules(source: str) -> str:
    while match := TEST_MODULE.search(source):
        depth, end = 0, len(source)
        for position in range(match.end() - 1, len(source)):
            if source[position] == "{":
                depth += 1
            elif source[position] == "}":
                depth -= 1
                if depth == 0:
                    end = position + 1
                    break
        source = source[: match.start()] + source[end:]
    return source


def imports() -> dict[str, dict[str, set[str]]]:
    modules = {module_of(p) for p in SRC.iterdir() if p.is_dir() or p.suffix == ".rs"}
    modules -= {"lib", "main"}
    edges: dict[str, dict[str, set[str]]] = collections.defaultdict(lambda: collections.defaultdict(set))
    for path in sorted(SRC.rglob("*.rs")):
        source = without_test_modules(BLOCK_COMMENT.sub("", LINE_COMMENT.sub("", path.read_text())))
        names = set(SINGLE.findall(source))
        for group in GROUP.findall(source):
            names.update(item.strip().split("::")[0] for item in group.split(",") if item.strip())
        here = module_of(path)
        for name in names & modules - {here}:
            edges[here][name].add(str(path.relative_to(SRC)))
    return edges


def cycles(edges: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    edges = imports()
    if "--graph" in sys.argv:
        for module in sorted(edges):
            print(f"{module} -> {', '.join(sorted(edges[module]))}")
    checked = {module: targets for module, targets in edges.items() if module != COMPOSITION_ROOT}
    problems = cycles(checked)
    for component in problems:
        print(f"import cycle between server/src modules: {', '.join(component)}", file=sys.stderr)
        for module in component:
            for target in sorted(set(checked.get(module, {})) & set(component)):
                files = ", ".join(sorted(checked[module][target]))
                print(f"  {module} -> {target}  ({files})", file=sys.stderr)
    if not problems:
        print(f"no import cycles between the {len(edges)} modules of server/src")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
