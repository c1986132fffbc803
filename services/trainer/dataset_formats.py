"""Row formats of a dataset: detect which one a file uses and bring every row to one of two shapes.

Chat formats (OpenAI `messages`, ShareGPT `conversations`, Alpaca, prompt/completion) become
`{"messages": [...]}` (the loss then sees assistant turns only); plain text stays `{"text": ...}`.
Pure: rows come in as already-parsed objects with their line numbers; problems name line and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.events.datasets import DataFormat
from services.trainer.errors import Problem

MAX_PROBLEMS = 100  # a file with more bad rows lists the first 100
ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
FORMAT_HINT = (
    "use one of: `messages` (OpenAI chat), `conversations` (ShareGPT from/value), "
    "`instruction`+`output` (Alpaca, optional `input`), `prompt`+`completion`, or `text`"
)


@dataclass(frozen=True)
class RawRow:
    line: int  # 1-based line (JSONL, CSV) or row number (JSON, Parquet, datasets folder)
    value: Any  # the parsed row, or None when it could not be parsed
    parse_error: str | None = None


@dataclass
class NormalizedRows:
    data_format: DataFormat | None
    read: int = 0  # rows in the file, good or bad
    good: int = 0  # rows without a problem
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # source line of each row
    problems: list[Problem] = field(default_factory=list)

    @property
    def chat(self) -> bool:
        return self.data_format not in (None, "text")


def detect_format(row: Any) -> DataFormat | None:
    if not isinstance(row, dict):
        return None
    keys = set(row)
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "sharegpt"
    if {"instruction", "output"} <= keys:
        return "alpaca"
    if {"prompt", "completion"} <= keys:
        return "prompt_completion"
    if "text" in keys:
        return "text"
    return None


def normalized(raw_rows: Iterable[RawRow], file: str, out: NormalizedRows) -> Iterator[tuple[dict[str, Any], int]]:
    """Detect the format from the first parsed row, then convert and check every row, yielding each good
    row with its line; what is learnt on the way (format, rows read, good rows, problems) goes into
    `out`, so a file can be checked without holding its rows."""
    for raw in raw_rows:
        if raw.line > 0:  # line 0 carries a whole-file problem, not a row
            out.read += 1
        if raw.parse_error is not None:
            _add(out, Problem(raw.parse_error, file, raw.line))
            continue
        if out.data_format is None:
            out.data_format = detect_format(raw.value)
            if out.data_format is None:
                keys = sorted(raw.value) if isinstance(raw.value, dict) else type(raw.value).__name__
                _add(out, Problem(f"unknown row format (got {keys}); {FORMAT_HINT}", file, raw.line))
                return
        row, problems = _convert(out.data_format, raw.value)
        for problem in problems:
            _add(out, Problem(problem.message, file, raw.line, problem.field))
        if not problems:
            out.good += 1
            yield row, raw.line
    if out.data_format is None and not out.problems:
        _add(out, Problem("the dataset has no rows; add at least one example", file, 0))


def normalize(raw_rows: Iterable[RawRow], file: str) -> NormalizedRows:
    """Every row converted and checked, the good ones kept (what training reads)."""
    out = NormalizedRows(data_format=None)
    for row, line in normalized(raw_rows, file, out):
        out.rows.append(row)
        out.lines.append(line)
    return out


def _add(out: NormalizedRows, problem: Problem) -> None:
    if len(out.problems) < MAX_PROBLEMS:
        out.problems.append(problem)


def _convert(data_format: DataFormat, value: Any) -> tuple[dict[str, Any], list[Problem]]:
    if not isinstance(value, dict):
        return {}, [Problem(f"a row must be an object, got {type(value).__name__}")]
    match data_format:
        case "messages":
            return _chat(value.get("messages"), "messages", "role", "content", {r: r for r in ROLES})
        case "sharegpt":
            return _chat(value.get("conversations"), "conversations", "from", "value", SHAREGPT_ROLES)
        case "alpaca":
            problems = _texts(value, ("instruction", "output"), optional=("input", "system"))
            prompt = "\n\n".join(p for p in (value.get("instruction"), value.get("input")) if p)
            return _pair(value.get("system"), prompt, value.get("output")), problems
        case "prompt_completion":
            problems = _texts(value, ("prompt", "completion"))
            return _pair(None, value.get("prompt"), value.get("completion")), problems
        case _:
            return {"text": value.get("text")}, _texts(value, ("text",))


def _pair(system: Any, prompt: Any, answer: Any) -> dict[str, Any]:
    turns = [{"role": "system", "content": system}] if system else []
    return {"messages": [*turns, {"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def _texts(value: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Problem]:
    problems = []
    for name in required:
        if name not in value or value[name] is None:
            problems.append(Problem(f"missing `{name}`", field=name))
        elif not isinstance(value[name], str) or not value[name].strip():
            problems.append(Problem(f"`{name}` must be a non-empty string", field=name))
    for name in optional:
        if value.get(name) is not None and not isinstance(value[name], str):
            problems.append(Problem(f"`{name}` must be a string when present", field=name))
    return problems


def _chat(
    turns: Any, key: str, role_key: str, text_key: str, roles: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    if not isinstance(turns, list) or not turns:
        return {}, [Problem(f"`{key}` must be a non-empty list of turns", field=key)]
    messages, problems = [], []
    for index, turn in enumerate(turns):
        where = f"{key}[{index}]"
        if not isinstance(turn, dict):
            problems.append(Problem("a turn must be an object", field=where))
            continue
        role = turn.get(role_key)
        if role not in roles:
            allowed = ", ".join(sorted(roles))
            problems.append(
                Problem(f"`{role_key}` must be one of {allowed}, got {role!r}", field=f"{where}.{role_key}")
            )
        text = turn.get(text_key)
        if not isinstance(text, str) or (not text.strip() and role != "system"):
            problems.append(Problem(f"`{text_key}` must be a non-empty string", field=f"{where}.{text_key}"))
        messages.append({"role": roles.get(role, "user") if isinstance(role, str) else "user", "content": text})
    if not problems and not any(m["role"] == "assistant" for m in messages):
        problems.append(Problem("no assistant turn: there is nothing to train on", field=key))
    return {"messages": messages}, problems
