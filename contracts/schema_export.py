"""Generate the JSON Schemas checked in under contracts/schemas/ (one per event type + the envelope).

python -m contracts.schema_export          # rewrite the files
python -m contracts.schema_export --check  # exit 1 when the files differ from the models
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from contracts.catalog import EVENT_TYPES
from contracts.envelope import Envelope

SCHEMA_DIR = Path(__file__).parent / "schemas"
ASYNCAPI_DOCUMENT = Path(__file__).parent / "asyncapi.json"  # written by `python -m services.asyncapi`


def generated_schemas() -> dict[str, str]:
    """File name -> JSON text, exactly as it should be on disk."""
    out = {"Envelope.json": Envelope.model_json_schema()}
    for name, cls in EVENT_TYPES.items():
        out[f"{name}.v{cls.schema_version()}.json"] = cls.model_json_schema()
    return {file: json.dumps(schema, indent=2, sort_keys=True) + "\n" for file, schema in out.items()}


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """Human-readable differences between the models and the files in `directory`."""
    expected = generated_schemas()
    on_disk = {p.name: p.read_text() for p in directory.glob("*.json")}
    problems = [f"missing {f}" for f in sorted(expected.keys() - on_disk.keys())]
    problems += [f"stale {f} (no such event version any more)" for f in sorted(on_disk.keys() - expected.keys())]
    problems += [f"changed {f}" for f in sorted(expected.keys() & on_disk.keys()) if expected[f] != on_disk[f]]
    return problems


def write(directory: Path = SCHEMA_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    expected = generated_schemas()
    for stale in set(p.name for p in directory.glob("*.json")) - expected.keys():
        (directory / stale).unlink()
    for name, text in expected.items():
        (directory / name).write_text(text)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = drift()
        for p in problems:
            print(p)
        if problems:
            print("schemas drifted from the models: run `python -m contracts.schema_export`")
        return 1 if problems else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
