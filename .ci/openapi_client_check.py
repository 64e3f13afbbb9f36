"""Checks the client `openapi-python-client` generated from Rampart's OpenAPI document.

Usage: python3 openapi_client_check.py OPENAPI_JSON GENERATOR_LOG CLIENT_DIR

Fails (exit 1, one line per problem) when:
- the generator printed a warning or an error, or skipped an endpoint;
- an operation of the document has no generated module;
- an operation with a request body did not get a typed request model: its `body` parameter
  must be a generated class (or a union of them) with at least one declared field, not `Any`,
  a dict, or a class holding only `additional_properties` (what an `Object` schema gives).
"""

import importlib
import inspect
import json
import re
import sys
import typing
from pathlib import Path

import attrs

# Lines of the generator's output that are progress, not findings.
QUIET = re.compile(r"^(Generating .*|\s*)$")


def snake(name: str) -> str:
    """The generator's module name for an operation id."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.strip("_").lower()


def generator_findings(log: str) -> list[str]:
    """Every line the generator printed beyond its progress: the warning headlines when there
    are any (the JSON excerpts under them add nothing), else whatever it printed."""
    printed = [line.strip() for line in log.splitlines() if not QUIET.match(line)]
    headlines = [
        line
        for line in printed
        if re.search(r"warning|error|will not be generated|skipp|cannot|unable|duplicate|attempted", line, re.I)
    ]
    return [f"generator: {line}" for line in (headlines or printed)]


def typed_classes(annotation) -> list[type]:
    """The generated classes an annotation names, or [] when it names anything untyped."""
    if inspect.isclass(annotation) and attrs.has(annotation):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        classes = []
        for member in typing.get_args(annotation):
            if member is type(None) or getattr(member, "__name__", "") == "Unset":
                continue
            found = typed_classes(member)
            if not found:
                return []
            classes.extend(found)
        return classes
    return []


def main() -> int:
    document_path, log_path, client_dir = sys.argv[1:4]
    document = json.loads(Path(document_path).read_text(encoding="utf-8"))
    problems = generator_findings(Path(log_path).read_text(encoding="utf-8"))

    client = Path(client_dir)
    sys.path.insert(0, str(client.parent))
    package = client.name
    modules = {p.stem: p for p in (client / "api").glob("*/*.py") if p.stem != "__init__"}

    operations = 0
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            operations += 1
            label = f"{method.upper()} {path}"
            op_id = operation.get("operationId")
            if not op_id:
                problems.append(f"{label}: no operationId")
                continue
            # A name Python reserves (`list`) gets a trailing underscore.
            module_path = modules.get(snake(op_id)) or modules.get(snake(op_id) + "_")
            if module_path is None:
                problems.append(f"{label}: no generated endpoint ({op_id} was skipped)")
                continue
            if "requestBody" not in operation:
                continue
            module_name = f"{package}.api.{module_path.parent.name}.{module_path.stem}"
            module = importlib.import_module(module_name)
            hints = typing.get_type_hints(module.sync_detailed)
            if "body" not in hints:
                problems.append(f"{label}: the request body is not in the generated client")
                continue
            classes = typed_classes(hints["body"])
            if not classes:
                problems.append(f"{label}: request body typed as {hints['body']!r}, not a model")
                continue
            for cls in classes:
                fields = [f.name for f in attrs.fields(cls) if f.name != "additional_properties"]
                if not fields:
                    problems.append(
                        f"{label}: request model {cls.__name__} declares no field (an untyped Object)"
                    )
    generated = len(modules)
    print(f"openapi-python-client: {generated} endpoints generated for {operations} operations")
    for problem in problems:
        print(f"  FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
