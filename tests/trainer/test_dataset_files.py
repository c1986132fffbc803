"""Every supported file and row format reads into the same rows; bad input names its line and field."""

from __future__ import annotations

import json

import pytest

from services.trainer import dataset_files
from services.trainer.dataset_files import good_rows, load_dataset_file, scan_dataset_file
from services.trainer.errors import DatasetFormatError

CHAT = {"messages": [{"role": "user", "content": "What is x?"}, {"role": "assistant", "content": "pomi"}]}
EXPECTED = [{"role": "user", "content": "What is x?"}, {"role": "assistant", "content": "pomi"}]


def jsonl(*rows: object) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


@pytest.mark.parametrize(
    ("row", "data_format"),
    [
        (CHAT, "messages"),
        ({"conversations": [{"from": "human", "value": "What is x?"}, {"from": "gpt", "value": "pomi"}]}, "sharegpt"),
        ({"instruction": "What is x?", "input": "", "output": "pomi"}, "alpaca"),
        ({"prompt": "What is x?", "completion": "pomi"}, "prompt_completion"),
    ],
)
def test_chat_formats_become_the_same_messages(write_file, row, data_format):
    fmt, rows = load_dataset_file(write_file("data.jsonl", jsonl(row, row)))

    assert (fmt, rows.data_format, rows.problems) == ("jsonl", data_format, [])
    assert rows.rows == [{"messages": EXPECTED}] * 2
    assert rows.lines == [1, 2]


def test_sharegpt_system_turns_and_alpaca_input_are_kept(write_file):
    sharegpt = {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello"},
        ]
    }
    alpaca = {"instruction": "Translate", "input": "chat", "output": "cat"}

    _, chat = load_dataset_file(write_file("a.jsonl", jsonl(sharegpt)))
    _, instructions = load_dataset_file(write_file("b.jsonl", jsonl(alpaca)))

    assert chat.rows[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert instructions.rows[0]["messages"][0] == {"role": "user", "content": "Translate\n\nchat"}


def test_json_csv_parquet_and_saved_datasets_read_like_jsonl(write_file, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    rows = [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    Dataset.from_list([CHAT] * 3).save_to_disk(str(tmp_path / "saved"))
    csv_text = "messages\n" + "\n".join('"' + json.dumps(CHAT["messages"]).replace('"', '""') + '"' for _ in range(3))

    loaded = {
        "json": load_dataset_file(write_file("d.json", json.dumps(rows))),
        "csv": load_dataset_file(write_file("d.csv", csv_text)),
        "parquet": load_dataset_file(tmp_path / "d.parquet"),
        "hf_disk": load_dataset_file(tmp_path / "saved"),
    }

    assert {name: (fmt, len(r.rows), r.problems) for name, (fmt, r) in loaded.items()} == {
        name: (name, 3, []) for name in loaded
    }
    assert loaded["csv"][1].lines == [2, 3, 4]  # the header is line 1
    assert loaded["hf_disk"][1].rows[0] == {"messages": EXPECTED}


def test_plain_text_rows_stay_text(write_file):
    _, rows = load_dataset_file(write_file("t.jsonl", jsonl({"text": "once upon a time"})))

    assert (rows.data_format, rows.chat, rows.rows) == ("text", False, [{"text": "once upon a time"}])


def test_a_broken_line_and_missing_fields_are_all_reported_with_line_and_field(write_file):
    text = (
        jsonl(CHAT)
        + '{"messages": [oops\n'
        + jsonl(
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]},
            {"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]},
            {"messages": [{"role": "user", "content": "only a question"}]},
        )
    )

    _, rows = load_dataset_file(write_file("facts.jsonl", text))

    found = [(p.file, p.line, p.field) for p in rows.problems]
    assert found == [
        ("facts.jsonl", 2, None),
        ("facts.jsonl", 3, "messages[1].content"),
        ("facts.jsonl", 4, "messages[0].role"),
        ("facts.jsonl", 5, "messages"),
    ]
    assert "not valid JSON" in rows.problems[0].message
    assert "no assistant turn" in rows.problems[3].message
    assert len(rows.rows) == 1


def test_an_empty_file_is_a_whole_file_problem(write_file):
    _, rows = load_dataset_file(write_file("empty.jsonl", "\n\n"))

    assert [(p.file, p.line) for p in rows.problems] == [("empty.jsonl", 0)]
    assert "no rows" in rows.problems[0].message


def test_an_unknown_row_format_lists_the_formats_that_are_understood(write_file):
    _, rows = load_dataset_file(write_file("odd.jsonl", jsonl({"question": "q", "answer": "a"})))

    (problem,) = rows.problems
    assert (problem.file, problem.line) == ("odd.jsonl", 1)
    assert "['answer', 'question']" in problem.message and "instruction" in problem.message


def test_an_unknown_file_extension_is_refused_by_name(write_file):
    with pytest.raises(DatasetFormatError, match=r"data\.txt.*unknown file format '\.txt'"):
        load_dataset_file(write_file("data.txt", "hello"))


def test_a_file_is_checked_without_holding_its_rows_and_its_good_rows_are_read_again_one_by_one(write_file):
    text = jsonl(CHAT, {"messages": []}, CHAT) + "{broken\n"
    path = write_file("mixed.jsonl", text)
    fmt, scanned = scan_dataset_file(path)
    _, loaded = load_dataset_file(path)
    assert (scanned.read, scanned.good, scanned.rows) == (4, 2, []), "counted, not kept"
    assert [(p.line, p.field) for p in scanned.problems] == [(p.line, p.field) for p in loaded.problems]
    assert [line for _, line in good_rows(path, fmt)] == loaded.lines == [1, 3]


def test_a_json_array_too_large_to_parse_whole_is_refused_pointing_to_jsonl(write_file, monkeypatch):
    monkeypatch.setattr(dataset_files, "JSON_MAX_BYTES", 64)
    _, rows = scan_dataset_file(write_file("big.json", json.dumps([CHAT, CHAT])))
    assert rows.good == 0 and ".jsonl" in rows.problems[0].message
