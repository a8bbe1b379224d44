"""Issue #13, items 5-7: inputs that used to escape as untyped exceptions, hang, or send first.

Every case here must end in a :class:`~tuneport.errors.TuneportError` subclass
(``SpecError``, ``DatasetError`` or ``ConfigError``, never the driver's
``BackendError`` safety net) naming the field, key or line, before any request
reaches the emulator, and within a time limit:

* lone surrogates in names, labels, prompts and datasets;
* nesting deep enough to exhaust Python's recursion (JSON datasets, TOML
  configs, ``TUNEPORT_LABELS``, ``--spec`` files);
* a NUL in a path; a 70,000-character list filter; a timeout of 1e20;
* ``/dev/zero`` and FIFOs as datasets, configs or credentials files (only
  regular files are opened): these run in a child process with a memory cap,
  killed at the limit, since a thread stuck reading cannot be stopped;
* Vertex label and description limits, Gemini's ``tuned_model_id`` with a
  trailing newline;
* the unhelpful ones of item 7: all sampled lines malformed, a gzip file, a
  config with a byte-order mark, an ADC file open to other users.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from badinput_helpers import (
    BASE_MODELS,
    GEMINI_MODEL_ID,
    PAIRS,
    PROJECT,
    assert_names,
    assert_nothing_sent,
    assert_problem_at,
)
from click.testing import CliRunner

import tuneport
from tuneport.client import TuningClient
from tuneport.errors import (
    BackendError,
    ConfigError,
    DatasetError,
    InsecureConfigWarning,
    SpecError,
    TuneportError,
    ValidationError,
)
from tuneport_emulator import Emulator

Connect = Callable[..., TuningClient]

#: How long one case may take before it counts as a hang.
LIMIT_SECONDS = 20.0
#: Nesting far beyond Python's recursion limit.
DEEP = 100_000
PAIR_LINE = json.dumps({"text_input": "question", "output": "answer"})
CHAT_LINE = json.dumps(
    {"contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]}
)
LINES = {"gemini": PAIR_LINE, "vertex": CHAT_LINE}


def within(fn: Callable[[], Any], seconds: float = LIMIT_SECONDS) -> BaseException | None:
    """Run ``fn`` in a thread; the exception it raised (``None`` if none); fail if it hangs."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer within {seconds:g} s: the case hung")
    return outcome[0]


def refused(
    fn: Callable[[], Any], error: type[TuneportError] = TuneportError, seconds: float = LIMIT_SECONDS
) -> Any:
    """``fn`` raises ``error`` (a typed error, not the BackendError safety net) within the limit."""
    exc = within(fn, seconds)
    assert exc is not None, "the input was accepted"
    assert not isinstance(exc, BackendError), f"only the safety net caught it: {exc!r}"
    assert isinstance(exc, error), f"{type(exc).__name__}: {exc}"
    return exc


def spec(backend: str, **changes: Any) -> dict[str, Any]:
    return {"base_model": BASE_MODELS[backend], "training_data": PAIRS, **changes}


# --- lone surrogates -----------------------------------------------------------------------------

SURROGATE = "bad \ud800 text"

SURROGATE_SPECS: list[tuple[str, dict[str, Any], str]] = [
    ("gemini", {"display_name": SURROGATE}, "display_name"),
    ("vertex", {"display_name": SURROGATE}, "display_name"),
    ("gemini", {"description": SURROGATE}, "description"),
    ("vertex", {"description": SURROGATE}, "description"),
    ("vertex", {"labels": {"team": "\udc80"}}, "labels"),
    ("vertex", {"labels": {"t\udc80": "ml"}}, "labels"),
    ("gemini", {"training_data": [("q \ud800", "a")]}, "training_data"),
    ("vertex", {"training_data": [("q", "a \udfff")]}, "training_data"),
    ("vertex", {"extras": {"service_account": "sa\ud800@x.iam.gserviceaccount.com"}}, "extras"),
]


@pytest.mark.parametrize(("backend", "changes", "field"), SURROGATE_SPECS)
def test_lone_surrogate_in_a_spec_is_refused_by_name(
    connect: Connect, emulator: Emulator, tmp_path: Path, backend: str, changes: dict[str, Any], field: str
) -> None:
    client = connect(backend)
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join([LINES[backend]] * 3) + "\n")
    fields = (
        spec(backend, training_data=data, **changes)
        if "training_data" not in changes
        else spec(backend, **changes)
    )
    error = refused(lambda: client.create(**fields), SpecError)
    assert any(f.startswith(field) for f in _fields(error)), (field, error)
    assert field in str(error)
    assert "surrogate" in str(error)
    assert_nothing_sent(emulator)


def _fields(error: ValidationError) -> list[str]:
    return [p.field or "" for p in error.problems]


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize(
    ("prompt", "fields", "field"),
    [
        (SURROGATE, {}, "contents"),
        ("ping", {"system_instruction": SURROGATE}, "system_instruction"),
        ("ping", {"stop_sequences": [SURROGATE]}, "stop_sequences"),
    ],
)
def test_lone_surrogate_in_a_prompt_is_refused_by_name(
    connect: Connect,
    emulator: Emulator,
    vertex_job_id: str,
    backend: str,
    prompt: str,
    fields: dict[str, Any],
    field: str,
) -> None:
    target = GEMINI_MODEL_ID if backend == "gemini" else vertex_job_id
    client = connect(backend)
    error = refused(lambda: client.generate(target, prompt, **fields), SpecError)
    assert any(f.startswith(field) for f in _fields(error)), (field, error)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_lone_surrogate_in_a_dataset_names_the_line(
    connect: Connect, emulator: Emulator, tmp_path: Path, backend: str
) -> None:
    # JSON escapes may spell a lone surrogate; no UTF-8 encoder takes it.
    bad = LINES[backend].replace('"a', '"\\ud800a', 1).replace('"answer', '"\\ud800answer', 1)
    assert bad != LINES[backend]
    data = tmp_path / "train.jsonl"
    data.write_text(f"{LINES[backend]}\n{bad}\n")
    client = connect(backend)
    error = refused(lambda: client.create(**spec(backend, training_data=data)), DatasetError)
    assert [p.line for p in error.problems if p.severity == "error"] == [2], error
    # Not valid JSON text (RFC 8259 §8.2): reported as such, at the line.
    assert error.first.rule == "malformed-json", error
    assert "surrogate" in str(error)
    assert ":2: " in str(error)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("codec", ["json", "fastest"])
@pytest.mark.parametrize("layout", ["jsonl", "json"])
@pytest.mark.parametrize(
    ("value", "words"),
    [('"\\ud800a"', "surrogate"), ("[" * DEEP + "]" * DEEP, "")],
    ids=["lone surrogate", "deep nesting"],
)
def test_dataset_tools_report_the_line_with_either_codec(
    tmp_path: Path, codec: str, layout: str, value: str, words: str
) -> None:
    from tuneport.datasets import JsonCodec, validate_dataset

    bad = '{"text_input": "q", "output": ' + value + "}"
    data = tmp_path / f"train.{layout}"
    if layout == "jsonl":
        data.write_text(f"{PAIR_LINE}\n{bad}\n")
    else:
        data.write_text(f"[\n{PAIR_LINE},\n{bad}\n]\n")
    chosen = JsonCodec.stdlib() if codec == "json" else JsonCodec.fastest()
    report: Any = None

    def run() -> None:
        nonlocal report
        report = validate_dataset(data, codec=chosen)

    assert within(run) is None
    errors = [p for p in report.problems if p.severity == "error"]
    assert errors, report.problems
    assert errors[0].line == (2 if layout == "jsonl" else 3), errors
    assert words in errors[0].message, errors


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_lone_surrogate_in_a_list_filter_is_refused(
    connect: Connect, emulator: Emulator, backend: str
) -> None:
    client = connect(backend)
    error = refused(lambda: list(client.list(filter="state=\ud800")), SpecError)
    assert_names(error, "filter")
    assert_nothing_sent(emulator)


# --- nesting beyond the recursion limit -------------------------------------------------------------


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("bracket", ["[", '{"a":'])
def test_deeply_nested_dataset_line_names_the_line(
    connect: Connect, emulator: Emulator, tmp_path: Path, backend: str, bracket: str
) -> None:
    closing = "]" if bracket == "[" else "}"
    deep = bracket * DEEP + "1" + closing * DEEP
    data = tmp_path / "train.jsonl"
    data.write_text(f"{LINES[backend]}\n{LINES[backend]}\n" + '{"text_input": ' + deep + ', "output": "a"}\n')
    client = connect(backend)
    error = refused(lambda: client.create(**spec(backend, training_data=data)), DatasetError)
    assert 3 in [p.line for p in error.problems], error
    assert ":3: " in str(error)
    assert_nothing_sent(emulator)


def test_deeply_nested_dataset_as_the_only_line(connect: Connect, emulator: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("[" * DEEP + "]" * DEEP + "\n")
    client = connect("gemini")
    error = refused(lambda: client.create(**spec("gemini", training_data=data)), DatasetError)
    assert error.line == 1, error
    assert_nothing_sent(emulator)


@pytest.mark.parametrize(
    "text",
    [
        "[profiles.a]\nbackend = 'gemini'\nx = " + "[" * DEEP + "]" * DEEP + "\n",
        "[profiles.a]\nbackend = 'gemini'\nx = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n",
    ],
    ids=["arrays", "inline tables"],
)
def test_deeply_nested_toml_config_is_a_config_error(write_config: Callable[[str], Path], text: str) -> None:
    path = write_config(text)
    error = refused(lambda: tuneport.open_backend(config=path, environ={}), ConfigError)
    assert error.source == str(path)
    assert "nest" in str(error)


@pytest.mark.parametrize("value", ["[" * DEEP + "]" * DEEP, '{"a": ' * DEEP + "1" + "}" * DEEP])
def test_deeply_nested_labels_variable_names_the_key(value: str) -> None:
    error = refused(
        lambda: tuneport.open_backend(backend="vertex", environ={"TUNEPORT_LABELS": value}), ConfigError
    )
    assert_names(error, "labels")
    assert error.source == "environment variable TUNEPORT_LABELS"


def test_deeply_nested_extras_are_refused(connect: Connect, emulator: Emulator) -> None:
    nested: Any = 1
    for _ in range(DEEP):
        nested = [nested]
    client = connect("vertex")
    error = refused(lambda: client.create(**spec("vertex", extras={"encryption_spec": nested})), SpecError)
    assert any(f.startswith("extras") for f in _fields(error)), error
    assert_nothing_sent(emulator)


# --- NUL in a path --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("field", ["training_data", "validation_data"])
@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_nul_in_a_dataset_path_names_the_field(
    connect: Connect, emulator: Emulator, tmp_path: Path, backend: str, field: str, as_path: bool
) -> None:
    if backend == "gemini" and field == "validation_data":
        pytest.skip("gemini takes no validation data (UnsupportedParameter, tested elsewhere)")
    text = str(tmp_path / "train\x00.jsonl")
    changes = {field: Path(text) if as_path else text}
    client = connect(backend)
    error = refused(lambda: client.create(**spec(backend, **changes)), ValidationError)
    assert_names(error, field)
    assert "NUL" in str(error)
    assert_nothing_sent(emulator)


def test_nul_in_a_config_path_is_a_config_error(tmp_path: Path) -> None:
    bad = str(tmp_path / "tune\x00port.toml")
    error = refused(lambda: tuneport.open_backend(config=bad, environ={}), ConfigError)
    assert "NUL" in str(error)
    error = refused(lambda: tuneport.open_backend(environ={"TUNEPORT_CONFIG": bad}), ConfigError)
    assert "NUL" in str(error)


def test_nul_in_a_credentials_file_names_the_key(tmp_path: Path) -> None:
    error = refused(
        lambda: tuneport.open_backend(
            backend="vertex", project=PROJECT, credentials_file=str(tmp_path / "key\x00.json"), environ={}
        ),
        ConfigError,
    )
    assert_names(error, "credentials_file")


# --- a filter too long for a URL; a timeout beyond any clock ------------------------------------------


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_overlong_filter_is_refused_by_name(connect: Connect, emulator: Emulator, backend: str) -> None:
    client = connect(backend)
    error = refused(lambda: list(client.list(filter="x" * 70_000)), SpecError)
    assert_names(error, "filter")
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("value", [1e20, 10**30, 86_401])
def test_timeout_beyond_a_day_is_a_config_error(backend: str, value: float) -> None:
    error = refused(lambda: tuneport.open_backend(backend=backend, timeout=value, environ={}), ConfigError)
    assert_names(error, "timeout")
    error = refused(
        lambda: tuneport.open_backend(backend=backend, environ={"TUNEPORT_TIMEOUT": str(value)}), ConfigError
    )
    assert_names(error, "timeout")


def test_per_call_timeout_beyond_a_day_is_refused(connect: Connect, emulator: Emulator) -> None:
    client = connect("gemini")
    error = refused(lambda: client.get(GEMINI_MODEL_ID, timeout=1e20), SpecError)
    assert_names(error, "timeout")
    assert_nothing_sent(emulator)


def test_timeout_of_a_day_is_accepted() -> None:
    backend = tuneport.open_backend(backend="gemini", timeout=86_400, environ={})
    assert backend.settings.timeout == 86_400


# --- only regular files are opened: /dev/zero, FIFOs (in a child process, killed at the limit) -------

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, warnings
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a runaway read fails, not the machine
    warnings.simplefilter("ignore")
    import tuneport
    from tuneport.errors import TuneportError
    from tuneport.retry import NO_RETRY
    kind, target, url = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        if kind == "dataset-gemini" or kind == "dataset-vertex":
            backend = kind.split("-")[1]
            options = {"project": "tuneport-test", "staging_bucket": "gs://tuneport-staging"}
            client = tuneport.connect(backend=backend, endpoint=url, emulator=True, environ={},
                                      retry=NO_RETRY, **(options if backend == "vertex" else {}))
            model = "models/gemini-1.5-flash-001-tuning" if backend == "gemini" else "gemini-2.5-flash"
            client.create(base_model=model, training_data=target)
        elif kind == "validate":
            from tuneport.datasets import validate_dataset
            report = validate_dataset(target)
            print(json.dumps({"type": "report", "ok": report.ok,
                              "problems": [str(p) for p in report.problems][:3]}))
            sys.exit(0)
        elif kind == "config":
            tuneport.open_backend(config=target, environ={})
        elif kind == "credentials":
            client = tuneport.connect(backend="vertex", endpoint=url, project="tuneport-test",
                                      credentials_file=target, environ={}, retry=NO_RETRY)
            client.get("123")
        elif kind == "adc":
            client = tuneport.connect(backend="vertex", endpoint=url, project="tuneport-test",
                                      environ={}, retry=NO_RETRY)
            client.get("123")
    except TuneportError as exc:
        print(json.dumps({"type": type(exc).__name__, "message": str(exc),
                          "key": getattr(exc, "key", None), "field": getattr(exc, "field", None),
                          "source": getattr(getattr(exc, "first", None), "source", None)}))
    except BaseException as exc:
        print(json.dumps({"type": "untyped " + type(exc).__name__, "message": repr(exc)[:300]}))
    else:
        print(json.dumps({"type": "accepted"}))
    """
)


def run_child(kind: str, target: str, url: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one case in a child process; its outcome, or a failure if it outlives the limit."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TUNEPORT_", "GOOGLE_"))}
    environ.update(env or {})
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, kind, target, url],
            capture_output=True,
            text=True,
            timeout=LIMIT_SECONDS,
            check=False,
            env=environ,
        )
    except subprocess.TimeoutExpired:  # run() kills the child
        pytest.fail(f"{kind} {target!r}: no answer within {LIMIT_SECONDS:g} s (it hung)")
    assert done.stdout.strip(), done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    return str(path)


needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="POSIX")


@needs_posix
@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_file_as_a_dataset_is_refused(
    emulator: Emulator, fifo: str, backend: str, special: str
) -> None:
    target = fifo if special == "fifo" else special
    outcome = run_child(f"dataset-{backend}", target, emulator.url)
    # A problem with the file as a whole: it names the file (its source), like a missing one.
    assert outcome["type"] == "DatasetError", outcome
    assert outcome["source"] == target, outcome
    assert "regular file" in outcome["message"], outcome
    assert_nothing_sent(emulator)


@needs_posix
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_file_given_to_validate_is_reported(emulator: Emulator, fifo: str, special: str) -> None:
    outcome = run_child("validate", fifo if special == "fifo" else special, emulator.url)
    assert outcome["type"] in ("report", "DatasetError"), outcome
    if outcome["type"] == "report":
        assert not outcome["ok"]
        assert "regular file" in " ".join(outcome["problems"]), outcome
    else:
        assert "regular file" in outcome["message"], outcome


@needs_posix
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_file_as_a_config_is_refused(emulator: Emulator, fifo: str, special: str) -> None:
    outcome = run_child("config", fifo if special == "fifo" else special, emulator.url)
    assert outcome["type"] == "ConfigError", outcome
    assert "regular file" in outcome["message"], outcome


@needs_posix
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_file_as_credentials_is_refused(emulator: Emulator, fifo: str, special: str) -> None:
    outcome = run_child("credentials", fifo if special == "fifo" else special, emulator.url)
    assert outcome["type"] == "ConfigError", outcome
    assert outcome["key"] == "credentials_file", outcome
    assert "regular file" in outcome["message"], outcome
    assert_nothing_sent(emulator)


@needs_posix
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_file_as_adc_is_refused(emulator: Emulator, fifo: str, special: str) -> None:
    target = fifo if special == "fifo" else special
    outcome = run_child("adc", target, emulator.url, {"GOOGLE_APPLICATION_CREDENTIALS": target})
    assert outcome["type"] == "ConfigError", outcome
    assert "regular file" in outcome["message"], outcome
    assert_nothing_sent(emulator)


# --- vertex labels and description; gemini's tuned model id ------------------------------------------

VERTEX_SPEC_LIMITS: list[tuple[dict[str, Any], str]] = [
    ({"labels": {"Team": "ml"}}, "labels.Team"),
    ({"labels": {"team": "x" * 10_000}}, "labels.team"),
    ({"labels": {"team": "ml\r\nX-Injected: 1"}}, "labels.team"),
    ({"labels": {"team": "ML"}}, "labels.team"),
    ({"labels": {"1team": "ml"}}, "labels.1team"),
    ({"labels": {"": "ml"}}, "labels"),
    ({"labels": {"k" * 64: "v"}}, "labels." + "k" * 64),
    ({"labels": {"team.name": "ml"}}, "labels.team.name"),
    ({"labels": {f"k{i}": "v" for i in range(64)}}, "labels"),
    ({"description": "d" * 2_049}, "description"),
]


@pytest.mark.parametrize(("changes", "field"), VERTEX_SPEC_LIMITS)
def test_vertex_label_and_description_limits_are_checked_locally(
    connect: Connect, emulator: Emulator, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(CHAT_LINE + "\n")
    client = connect("vertex")
    error = refused(lambda: client.create(**spec("vertex", training_data=data, **changes)), SpecError)
    assert_names(error, field)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize(
    "labels",
    [
        {"team": "ml"},
        {"équipe": "données"},
        {"k" * 63: "v" * 63},
        {"a": ""},
        {f"k{i}": "v" for i in range(63)},
    ],
    ids=["plain", "international", "63 characters", "empty value", "63 labels"],
)
def test_vertex_labels_within_the_rules_are_accepted(labels: dict[str, str]) -> None:
    from tuneport.models import JobSpec
    from tuneport_vertex.wire import check_spec

    check_spec(JobSpec(base_model="gemini-2.5-flash", training_data="gs://b-b/t.jsonl", labels=labels))
    check_spec(
        JobSpec(base_model="gemini-2.5-flash", training_data="gs://b-b/t.jsonl", description="d" * 2_048)
    )


@pytest.mark.parametrize("bad_id", ["my-model\n", "my-model\r", "my-model\n\n", "\nmy-model"])
def test_gemini_tuned_model_id_with_a_newline_is_refused(
    connect: Connect, emulator: Emulator, bad_id: str
) -> None:
    client = connect("gemini")
    error = refused(lambda: client.create(**spec("gemini", extras={"tuned_model_id": bad_id})), SpecError)
    assert_names(error, "extras.tuned_model_id")
    assert_nothing_sent(emulator)


# --- item 7: typed but unhelpful ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_all_sampled_lines_malformed_names_the_first_line_and_its_problem(
    connect: Connect, emulator: Emulator, tmp_path: Path, backend: str
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("\n" + "\n".join(['{"text_input": "q", "output": "a",}'] * 5) + "\n")
    client = connect(backend)
    error = refused(lambda: client.create(**spec(backend, training_data=data)), DatasetError)
    assert_problem_at(error, 2, None, "malformed-json")
    assert "cannot tell the format" not in str(error)
    assert_nothing_sent(emulator)


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("name", ["train.jsonl.gz", "train.jsonl", "train.csv"])
def test_gzip_file_is_reported_as_compressed(
    connect: Connect, emulator: Emulator, tmp_path: Path, backend: str, name: str
) -> None:
    data = tmp_path / name
    data.write_bytes(gzip.compress((LINES[backend] + "\n").encode() * 3))
    client = connect(backend)
    error = refused(lambda: client.create(**spec(backend, training_data=data)), DatasetError)
    assert "compressed" in str(error), error
    assert "decompress" in str(error), error
    assert error.first.rule == "compressed-file"
    assert_nothing_sent(emulator)


def test_config_with_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tuneport.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b"[profiles.a]\nbackend = 'gemini'\ntimeout = 12\n")
    path.chmod(0o600)
    backend = tuneport.open_backend("a", config=path, environ={})
    assert backend.settings.timeout == 12


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("via", ["GOOGLE_APPLICATION_CREDENTIALS", "well-known file"])
def test_shared_adc_file_gives_a_permission_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    from tuneport_google.auth import application_default_credentials

    user = {
        "type": "authorized_user",
        "client_id": "id.apps.googleusercontent.com",
        "client_secret": "not-a-real-secret",
        "refresh_token": "not-a-real-token",
    }
    if via == "GOOGLE_APPLICATION_CREDENTIALS":
        path = tmp_path / "adc.json"
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    else:
        path = tmp_path / "gcloud" / "application_default_credentials.json"
        path.parent.mkdir()
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
        monkeypatch.setenv("CLOUDSDK_CONFIG", str(path.parent))
    path.write_text(json.dumps(user))
    path.chmod(0o644)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        application_default_credentials(["scope"], service="the test", hint="hint")
    shared = [w for w in caught if issubclass(w.category, InsecureConfigWarning)]
    assert shared, [str(w.message) for w in caught]
    assert str(path) in str(shared[0].message)
    assert "not-a-real" not in str(shared[0].message)


# --- the CLI: no traceback, ever -----------------------------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True])
def test_cli_reports_an_unexpected_exception_as_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, json_mode: bool
) -> None:
    from tuneport.cli import commands, data  # noqa: F401
    from tuneport.cli.app import EXIT_INTERNAL, State, cli

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom: a bug")

    monkeypatch.setattr(State, "plugin_host", broken)
    args = ["--json", "backends"] if json_mode else ["backends"]
    result = CliRunner().invoke(cli, args, obj=State(), prog_name="tuneport")
    assert result.exit_code == EXIT_INTERNAL, (result.exit_code, result.output)
    assert not isinstance(result.exception, RuntimeError), result.exception
    assert "Traceback" not in result.output
    if json_mode:
        payload = json.loads(result.stdout)
        assert payload["error"]["type"] == "InternalError"
        assert payload["error"]["exception"] == "RuntimeError"
        assert "boom: a bug" in payload["error"]["message"]
    else:
        assert "internal error" in result.stderr
        assert "RuntimeError: boom: a bug" in result.stderr


def test_cli_internal_error_code_is_documented() -> None:
    from tuneport.cli.app import EXIT_INTERNAL, cli

    docs = (Path(__file__).parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
    assert f"| {EXIT_INTERNAL} | internal error |" in docs
    assert f"{EXIT_INTERNAL} internal error" in " ".join((cli.help or "").split())


def test_cli_deeply_nested_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    from tuneport.cli import commands, data  # noqa: F401
    from tuneport.cli.app import EXIT_INVALID, State, cli

    spec_file = tmp_path / "spec.json"
    spec_file.write_text("[" * DEEP + "]" * DEEP)
    state = State(connect_options={"environ": {}})
    result = CliRunner().invoke(
        cli, ["--json", "create", "--spec", str(spec_file)], obj=state, prog_name="tuneport"
    )
    assert result.exit_code == EXIT_INVALID, result.output
    assert json.loads(result.stdout)["error"]["type"] == "SpecError"


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "create", "--spec", "spec\x00.json"],
        ["-c", "tune\x00port.toml", "list"],
        ["dataset", "validate", "train\x00.jsonl"],
        ["dataset", "stats", "train\x00.jsonl"],
        ["dataset", "convert", "train\x00.jsonl", "out.jsonl", "--to", "vertex"],
    ],
    ids=["--spec", "--config", "validate", "stats", "convert"],
)
def test_cli_nul_in_a_path_is_a_usage_error(args: list[str]) -> None:
    from tuneport.cli import commands, data  # noqa: F401
    from tuneport.cli.app import EXIT_USAGE, State, cli

    result = CliRunner().invoke(cli, args, obj=State(connect_options={"environ": {}}), prog_name="tuneport")
    assert result.exit_code == EXIT_USAGE, (result.exit_code, result.output)
    assert "NUL" in result.output
    assert "Traceback" not in result.output


@needs_posix
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_cli_special_file_as_a_spec_file_is_refused(fifo: str, special: str) -> None:
    from tuneport.cli import commands, data  # noqa: F401
    from tuneport.cli.app import EXIT_INVALID, State, cli

    target = fifo if special == "fifo" else special
    result = CliRunner().invoke(
        cli, ["--json", "create", "--spec", target], obj=State(connect_options={"environ": {}}), prog_name="t"
    )
    assert result.exit_code == EXIT_INVALID, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "SpecError"
    assert "regular file" in error["message"]
