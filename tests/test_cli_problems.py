"""Problems as the CLI shows them (#18): grouped by rule with the real count, the rule's fix said once in
the command's own flags, the cap said ("first 100 of 250 problems"), and a refused input's problem
printed once, never again under its headline.  Each test runs the real CLI in its own process."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_process import on_a_terminal, run_piped

from tuneport.datasets import DatasetLimits, parallel, validate_dataset
from tuneport.datasets.fixes import fixes_for
from tuneport.errors import Call, DatasetError, Remedy

GEMINI_MODEL = "gemini-1.5-flash-001-tuning"  # pairs only: no system instruction
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def _system_record(n: int) -> dict[str, Any]:
    return {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [_turn("user", f"question {n}"), _turn("model", f"answer {n}")],
    }


@pytest.fixture
def bad(isolated_environment: Path) -> Path:
    """250 records: even lines carry an unknown key, odd lines end on a user turn (125 of each)."""
    path = isolated_environment / "bad.jsonl"
    lines = []
    for n in range(250):
        if n % 2 == 0:
            lines.append({**_system_record(n), "extra": 1})
        else:
            turns = [_turn("user", f"q{n}"), _turn("model", "a"), _turn("user", "and then?")]
            lines.append({"contents": turns})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def with_system(isolated_environment: Path) -> Path:
    """20 valid Vertex records, each with a system instruction."""
    path = isolated_environment / "sys.jsonl"
    path.write_text("".join(json.dumps(_system_record(n)) + "\n" for n in range(20)), encoding="utf-8")
    return path


@pytest.fixture
def unknown(isolated_environment: Path) -> Path:
    path = isolated_environment / "unknown.jsonl"
    path.write_text('{"foo": 1}\n{"foo": 2}\n', encoding="utf-8")
    return path


# --- counts: real per rule, the cap said ------------------------------------------------------------


def test_each_rule_shows_its_real_count_and_the_cap_says_first_100_of_250(bad: Path) -> None:
    result = run_piped("dataset", "validate", str(bad))
    assert result.returncode == 4
    out = result.stdout
    # 50 of each rule were kept (100 in all), but 125 of each were found: the count is the real one.
    assert "error unknown-field: 125 errors, first 10 shown\n" in out
    assert "error role-order: 125 errors, first 10 shown\n" in out
    assert "first 100 of 250 problems kept (--max-problems keeps more" in out
    assert "250 error(s), 0 warning(s)" in out
    assert "(50)" not in out
    assert "… and" not in out
    assert "stopped after" not in out
    # One line per problem shown, each naming its line and field, never its rule again.
    assert out.count("unknown field 'extra'") == 10
    assert "line 1 extra: unknown field 'extra'" in out
    assert "[unknown-field]" not in out


def test_json_carries_the_counts_by_rule(bad: Path) -> None:
    result = run_piped("--json", "dataset", "validate", str(bad), "--max-problems", "30")
    assert result.returncode == 4
    report = json.loads(result.stdout)
    assert report["counts_by_rule"] == {"unknown-field": 125, "role-order": 125}
    assert len(report["problems"]) == 30
    assert report["truncated"] is True


def test_the_cap_line_is_absent_when_every_problem_was_kept(bad: Path) -> None:
    result = run_piped("dataset", "validate", str(bad), "--max-problems", "1000")
    assert "error role-order: 125 errors, first 10 shown" in result.stdout
    assert "problems kept" not in result.stdout


def test_a_rule_with_few_problems_shows_them_all_without_a_first_n(isolated_environment: Path) -> None:
    path = isolated_environment / "two.jsonl"
    record = {"text_input": "a", "output": "b"}
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    result = run_piped("dataset", "validate", str(path))
    assert result.returncode == 0
    assert "warning duplicate-example: 1 warning\n" in result.stdout
    assert "  line 2: the same example as line 1\n" in result.stdout
    assert "fix: remove the repeated examples" in result.stdout


def test_parallel_validation_counts_every_rule_as_the_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("parallel validation forks (Linux)")
    path = tmp_path / "v.jsonl"
    lines = []
    for n in range(3000):
        if n % 7 == 0:
            lines.append(json.dumps({"contents": [_turn("user", "same"), _turn("model", "answer")]}))
        elif n % 5 == 0:
            lines.append("{broken")
        else:
            lines.append(json.dumps({"contents": [_turn("user", f"q{n}"), _turn("model", "x" * 20)]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 16 * 1024)
    limits = DatasetLimits(max_output_chars=8)
    serial = validate_dataset(path, limits=limits, max_problems=10)
    split = validate_dataset(path, limits=limits, max_problems=10, workers=3)
    assert split.counts_by_rule == serial.counts_by_rule
    assert sum(serial.counts_by_rule.values()) == serial.error_count + serial.warning_count
    assert set(serial.counts_by_rule) == {"malformed-json", "output-too-long", "duplicate-example"}
    assert serial.counts_by_rule["duplicate-example"] == len(range(0, 3000, 7)) - 1


# --- the fix, once per rule, in the command's words --------------------------------------------------


def test_system_instructions_against_gemini_offer_the_conversion_and_the_vertex_backend(
    with_system: Path,
) -> None:
    result = run_piped(
        "dataset", "validate", str(with_system), "--backend", "gemini", "--model", GEMINI_MODEL
    )
    assert result.returncode == 4
    out = result.stdout
    assert "error system-not-allowed: 20 errors, first 10 shown\n" in out
    fix = (
        f"  fix: `tuneport dataset convert {with_system} TARGET --to gemini --system drop|prepend` "
        "drops each system instruction, or prepends it to the example's input; or use the vertex backend"
    )
    assert fix in out
    assert out.count("fix:") == 1  # once for the rule, not on each of its lines
    assert "system='drop'" not in out


def test_json_spells_the_fixes_as_the_cli_and_python_reads_them_as_python(with_system: Path) -> None:
    result = run_piped(
        "--json", "dataset", "validate", str(with_system), "--backend", "gemini", "--model", GEMINI_MODEL
    )
    fixes = json.loads(result.stdout)["fixes"]
    assert fixes["system-not-allowed"][0].startswith(
        f"`tuneport dataset convert {with_system} TARGET --to gemini --system drop|prepend`"
    )
    entry_limits = DatasetLimits(pairs_only=True)
    report = validate_dataset(with_system, limits=entry_limits)
    python = report.to_dict()["fixes"]["system-not-allowed"][0]
    assert python.startswith(
        f"tuneport.datasets.convert_dataset({str(with_system)!r}, TARGET, to='gemini', "
        "system='drop'|'prepend')"
    )


def test_an_unknown_format_names_the_flag_of_each_command_never_the_keyword(unknown: Path) -> None:
    validate = run_piped("dataset", "validate", str(unknown))
    convert = run_piped("dataset", "convert", str(unknown), "out.jsonl", "--to", "gemini")
    stats = run_piped("dataset", "stats", str(unknown))
    for result in (validate, convert, stats):
        assert result.returncode == 4, result.stderr
        assert "format=" not in result.stderr
        assert "error unknown-format: 1 error\n" in result.stderr
    assert "fix: --format gemini|vertex|openai|trl|neutral names the file's format" in validate.stderr
    assert "fix: --format gemini|vertex|openai|trl|neutral" in stats.stderr
    assert "fix: --from gemini|vertex|openai|trl|neutral names the file's format" in convert.stderr


def test_json_error_spells_the_remedies_as_flags(unknown: Path) -> None:
    result = run_piped("--json", "dataset", "convert", str(unknown), "out.jsonl", "--to", "gemini")
    assert result.returncode == 4
    (problem,) = json.loads(result.stdout)["error"]["problems"]
    assert problem["rule"] == "unknown-format"
    assert problem["remedies"] == [
        "--from gemini|vertex|openai|trl|neutral names the file's format instead of detecting it"
    ]


# --- a refused input: the headline once, then its problems once --------------------------------------


def test_a_refused_conversion_prints_its_problem_once(bad: Path) -> None:
    result = run_piped("dataset", "convert", str(bad), "out.jsonl", "--to", "gemini")
    assert result.returncode == 4
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: invalid dataset"
    assert result.stderr.count("unknown field 'extra'") == 1
    assert "error unknown-field: 1 error" in result.stderr
    assert f"  {bad}:1: extra: unknown field 'extra' (expected" in result.stderr


def test_create_refusing_data_groups_its_problems_with_the_fix(with_system: Path) -> None:
    result = run_piped("create", "-m", GEMINI_MODEL, "-t", str(with_system))
    assert result.returncode == 4
    err = result.stderr
    assert "Error: 20 dataset problem(s) block the job\n" in err
    assert "error system-not-allowed: 20 errors, first 10 shown\n" in err
    assert err.count("fix: `tuneport dataset convert") == 1
    assert err.count("no system instruction") == 10


def test_create_refusing_data_counts_every_problem_not_only_those_kept(bad: Path) -> None:
    result = run_piped("create", "-m", GEMINI_MODEL, "-t", str(bad))
    assert result.returncode == 4
    err = result.stderr
    assert re.search(r"^Error: 250 dataset problem\(s\) block the job$", err, re.MULTILINE)
    assert "error role-order: 125 errors, first 10 shown\n" in err
    assert "error unknown-field: 125 errors, first 10 shown\n" in err
    assert (
        "first 100 of 250 problems kept (`tuneport dataset validate FILE --max-problems N` shows more" in err
    )


def test_the_dry_run_groups_problems_and_says_the_cap(bad: Path) -> None:
    result = run_piped("create", "-m", GEMINI_MODEL, "-t", str(bad), "--dry-run")
    assert result.returncode == 4
    out = result.stdout
    assert "error role-order: 125 errors, first 10 shown\n" in out
    assert (
        "first 100 of 250 problems kept (`tuneport dataset validate FILE --max-problems N` shows more" in out
    )


def test_a_problem_quoting_a_key_shows_it_masked(isolated_environment: Path) -> None:
    path = isolated_environment / "leak.jsonl"
    key = "AIzaSyD-not-a-real-key-0123456789abcdefgh"
    record = {key: 1, "contents": [_turn("user", "q"), _turn("model", "a")]}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = run_piped("dataset", "validate", str(path))
    assert "error unknown-field: 1 error" in result.stdout
    assert key not in result.stdout + result.stderr
    refused = run_piped("dataset", "convert", str(path), "out.jsonl", "--to", "gemini")
    assert "unknown field" in refused.stderr
    assert key not in refused.stdout + refused.stderr


# --- the library keeps complete messages, spelt as Python ---------------------------------------------


def test_python_errors_keep_the_problem_and_spell_the_remedy_as_a_keyword(unknown: Path, bad: Path) -> None:
    with pytest.raises(DatasetError) as info:
        validate_dataset(unknown)
    text = str(info.value)
    assert text.splitlines()[0] == f"{unknown}: unknown format"
    assert "format='gemini'|'vertex'|'openai'|'trl'|'neutral' names the file's format" in text
    assert "--format" not in text
    from tuneport.datasets import convert_dataset

    with pytest.raises(DatasetError) as refused:
        convert_dataset(bad, bad.parent / "out.jsonl", to="gemini")
    lines = str(refused.value).splitlines()
    assert lines[0] == "invalid dataset"  # the problem is on the next line, once
    assert sum("unknown field 'extra'" in line for line in lines) == 1


def test_remedy_spellings() -> None:
    call = Call(python="f", cli="tool do", arguments=("SOURCE", "TARGET"), options=(("to", "x"),))
    remedy = Remedy("policy", choices=("a", "b"), effect="does it", call=call)
    assert remedy.python({"SOURCE": "in.jsonl"}) == "f('in.jsonl', TARGET, to='x', policy='a'|'b') does it"
    assert (
        remedy.cli(arguments={"SOURCE": "my file.jsonl"})
        == "`tool do 'my file.jsonl' TARGET --to x --policy a|b` does it"
    )
    advice = Remedy.advice("use the vertex backend")
    assert advice.python() == advice.cli({"x": "--y"}) == "use the vertex backend"
    assert Remedy("format", "vertex").cli({"format": "--from"}) == "--from vertex"


def test_each_rule_with_a_standard_way_out_has_a_fix() -> None:
    for rule in ("system-not-allowed", "multi-turn-not-allowed", "file-part-not-allowed"):
        spelt = [remedy.cli() for remedy in fixes_for(rule)]
        assert spelt[0].startswith("`tuneport dataset convert SOURCE TARGET --to gemini ")
        assert spelt[1].startswith("use the vertex backend")
    assert "--policy split|skip" in fixes_for("multi-turn-not-allowed")[0].cli()
    assert fixes_for("role-order") == ()  # fixed in the data, as the message says


# --- on a terminal -------------------------------------------------------------------------------------


def test_on_a_terminal_severities_are_coloured_and_lines_are_not_cut(bad: Path) -> None:
    code, shown = on_a_terminal("dataset", "validate", str(bad), columns=60)
    assert code == 4
    assert re.search(r"\x1b\[[0-9;]*31m" + "error", shown)  # red
    plain = ANSI.sub("", shown).replace("\r\n", "\n")
    assert "error role-order: 125 errors, first 10 shown" in plain
    # A problem longer than the terminal is one line (the terminal wraps it; a copy keeps it whole).
    assert "  line 2 contents[2].role: the last turn must be a 'model' turn (the answer to learn)\n" in plain
    piped = run_piped("dataset", "validate", str(bad))
    assert "\x1b[" not in piped.stdout


# --- stats and the method: a warning reads as one, the flag is named ----------------------------------


def test_stats_says_examples_over_limits_as_an_error_and_truncation_as_a_warning(
    isolated_environment: Path,
) -> None:
    gemini = isolated_environment / "long.jsonl"
    records = [{"text_input": "x" * 40_001, "output": "y"}, {"text_input": "a", "output": "b"}]
    gemini.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    over = run_piped("dataset", "stats", str(gemini), "-m", GEMINI_MODEL)
    assert over.returncode == 0, over.stderr
    assert (
        "error: 1 example(s) over the character limits; "
        f"`tuneport dataset validate {gemini} -m {GEMINI_MODEL}` lists them by line\n"
    ) in over.stdout
    vertex = isolated_environment / "huge.jsonl"
    long_turn = {"role": "user", "parts": [{"text": "word " * 140_000}]}
    vertex.write_text(json.dumps({"contents": [long_turn, _turn("model", "a")]}) + "\n", encoding="utf-8")
    truncated = run_piped("dataset", "stats", str(vertex), "-b", "vertex", "-m", "gemini-2.5-flash")
    assert truncated.returncode == 0, truncated.stderr
    assert "warning: 1 example(s) would be truncated by the service\n" in truncated.stdout


def test_data_of_another_method_names_the_method_flag(isolated_environment: Path) -> None:
    path = isolated_environment / "prefs.jsonl"
    record = {"prompt": "q", "chosen": "good", "rejected": "bad"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = run_piped("dataset", "validate", str(path), "--method", "supervised")
    assert result.returncode == 4
    assert f"Error: {path}: not supervised examples\n" in result.stderr
    assert "error method-mismatch: 1 error\n" in result.stderr
    assert "fix: --method preference reads it as such; or `tuneport dataset convert " in result.stderr
    assert (
        "--from-method preference --method supervised` converts it into supervised examples" in result.stderr
    )
    assert "method=" not in result.stderr


def test_a_raised_report_carries_the_full_counts_when_it_kept_fewer(bad: Path) -> None:
    report = validate_dataset(bad, max_problems=20)
    with pytest.raises(DatasetError) as info:
        report.raise_for_errors()
    assert info.value.counts_by_rule == {"unknown-field": 125, "role-order": 125}
    assert len(info.value.problems) == 20
    whole = validate_dataset(bad, max_problems=1000)
    with pytest.raises(DatasetError) as kept_all:
        whole.raise_for_errors()
    assert kept_all.value.counts_by_rule == {}  # nothing more to count than the problems it holds


def test_create_offers_no_flag_it_does_not_have(unknown: Path) -> None:
    refused = run_piped("create", "-m", GEMINI_MODEL, "-t", str(unknown))
    dry = run_piped("create", "-m", GEMINI_MODEL, "-t", str(unknown), "--dry-run")
    assert refused.returncode == dry.returncode == 4
    assert "error unknown-format: 1 error" in refused.stderr
    assert "error unknown-format: 1 error" in dry.stdout
    for shown in (refused.stderr, dry.stdout):
        assert "--format" not in shown  # create reads no format: its data's format is detected
        assert "format=" not in shown
