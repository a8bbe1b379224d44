"""`tuneport metrics JOB`: `--plot FILE` (checked before any request; one panel per kind of series),
`--series NAME`, the loss curves drawn in the terminal; and `generate --candidates N` showing every
candidate. The CLI runs against a backend kept in memory whose metrics have Vertex's native names:
losses near one next to token counts in the thousands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_memory import MemoryBackend, MemoryStore, memory_host
from click.testing import CliRunner, Result

from tuneport import plotting
from tuneport.cli import commands, data  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport.hookspecs import hookimpl
from tuneport.models import GenerateRequest, Generation, MetricPoint, Metrics
from tuneport.protocol import Flow

BRAILLE = range(0x2800, 0x2900)


class VertexShapedBackend(MemoryBackend):
    """Metrics as Vertex names them (loss, accuracy and token counts), N candidates on generate."""

    name: ClassVar[str] = "memory-vertex"

    def metrics(self, job_id: str) -> Flow[Metrics]:
        MemoryStore.calls.append(("metrics", job_id))
        steps = range(1, 21)
        native = {
            "train_total_loss": [MetricPoint(step=s, value=1.2 - s / 25) for s in steps],
            "eval_total_loss": [MetricPoint(step=s, value=1.3 - s / 25) for s in steps if s % 5 == 0],
            "train_fraction_of_correct_next_step_preds": [
                MetricPoint(step=s, value=0.5 + s / 50) for s in steps
            ],
            "train_num_predictions": [MetricPoint(step=s, value=4000.0 + 10 * s) for s in steps],
            "eval_num_predictions": [MetricPoint(step=s, value=900.0) for s in steps if s % 5 == 0],
        }
        renames = {
            "train_total_loss": "train_loss",
            "eval_total_loss": "eval_loss",
            "train_fraction_of_correct_next_step_preds": "train_accuracy",
            "train_num_predictions": "train_tokens",
            "eval_num_predictions": "eval_tokens",
        }
        return Metrics.from_native(job_id, native, renames)
        yield

    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        MemoryStore.calls.append(("generate", target))
        texts = tuple(f"answer {n}" for n in range(1, (request.candidate_count or 1) + 1))
        return Generation(text=texts[0], candidates=texts)
        yield


class VertexShapedPlugin:
    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(VertexShapedBackend)


@pytest.fixture(autouse=True)
def _fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)  # a stray file (a "-.png", say) would land here
    MemoryStore.reset()
    yield
    MemoryStore.reset()


@pytest.fixture
def run() -> Any:
    host = memory_host()
    host.register_plugin(
        VertexShapedPlugin(), name="memory-vertex", distribution="tuneport-mv-tests", version="0"
    )

    def invoke(*args: str, backend: str = "memory-vertex") -> Result:
        state = State(connect_options={"plugins": host, "environ": {}, "backend": backend})
        return CliRunner().invoke(cli, list(args), obj=state, prog_name="tuneport", terminal_width=120)

    return invoke


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every matplotlib figure the CLI builds (through the plotting function, not pixels)."""
    built: list[Any] = []
    original = plotting.figure_for

    def recording(metrics: Metrics, *, title: str | None = None) -> Any:
        figure = original(metrics, title=title)
        built.append(figure)
        return figure

    monkeypatch.setattr(plotting, "figure_for", recording)
    return built


def _panels(figure: Any) -> dict[str, set[str]]:
    """Each axes of *figure* by its y label, with the labels of its lines."""
    return {axes.get_ylabel(): {line.get_label() for line in axes.get_lines()} for axes in figure.axes}


# --- --plot: a usage error before any request ---------------------------------------------


@pytest.mark.parametrize(
    ("plot", "reason"),
    [
        ("loss.txt", "unsupported chart format '.txt'"),
        ("no-such-folder/loss.png", "folder 'no-such-folder' does not exist"),
        ("-", "not written to standard output: give a file name"),
    ],
)
def test_a_plot_file_that_cannot_be_written_is_a_usage_error_before_any_request(
    run: Any, plot: str, reason: str
) -> None:
    result = run("metrics", "job-1", "--plot", plot)
    assert result.exit_code == 2, result.output
    assert "--plot" in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.output
    assert MemoryStore.calls == []  # refused before the metrics were asked for
    assert list(Path.cwd().iterdir()) == []  # no "-.png", no "loss.txt"


def test_plot_says_the_file_it_wrote(run: Any) -> None:
    result = run("metrics", "job-1", "--plot", "loss.png")
    assert result.exit_code == 0, result.output
    assert "saved loss.png" in result.stderr
    assert (Path.cwd() / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_a_suffix_writes_a_png_and_names_it(run: Any) -> None:
    result = run("metrics", "job-1", "--plot", "loss")
    assert result.exit_code == 0, result.output
    assert "saved loss.png" in result.stderr
    assert [p.name for p in Path.cwd().iterdir()] == ["loss.png"]


def test_plot_in_json_mode_keeps_stdout_a_json_document(run: Any) -> None:
    result = run("--json", "metrics", "job-1", "--plot", "loss.svg")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["series"]) == {
        "train_loss",
        "eval_loss",
        "train_accuracy",
        "train_tokens",
        "eval_tokens",
    }
    assert (Path.cwd() / "loss.svg").read_text().lstrip().startswith("<?xml")


# --- one panel per kind; --series ------------------------------------------------------------


def test_plot_draws_one_panel_per_kind_of_series(run: Any, figures: list[Any]) -> None:
    result = run("metrics", "job-1", "--plot", "loss.png")
    assert result.exit_code == 0, result.output
    [figure] = figures
    assert _panels(figure) == {
        "loss": {"train_loss", "eval_loss"},
        "accuracy": {"train_accuracy"},
        "count": {"train_tokens", "eval_tokens"},
    }
    loss_panel = next(axes for axes in figure.axes if axes.get_ylabel() == "loss")
    assert loss_panel.get_ylim()[1] < 2  # the loss is not squashed under the token counts


def test_series_picks_what_the_table_the_plot_and_the_json_show(run: Any, figures: list[Any]) -> None:
    # a canonical name and a provider's name (Vertex's) both pick a series
    result = run(
        "metrics", "job-1", "--series", "eval_loss", "--series", "train_num_predictions", "--plot", "x.png"
    )
    assert result.exit_code == 0, result.output
    assert _panels(figures[0]) == {"loss": {"eval_loss"}, "count": {"train_tokens"}}
    for shown in ("eval_loss", "train_tokens"):
        assert shown in result.stdout
    for left_out in ("train_loss", "train_accuracy"):
        assert left_out not in result.stdout
    as_json = run("--json", "metrics", "job-1", "--series", "train_accuracy")
    assert set(json.loads(as_json.stdout)["series"]) == {"train_accuracy"}


def test_an_unknown_series_is_a_usage_error_listing_the_series_there_are(run: Any) -> None:
    result = run("metrics", "job-1", "--series", "train_los")
    assert result.exit_code == 2, result.output
    assert "--series" in result.stderr
    assert "'train_los'" in result.stderr
    assert "train_loss" in result.stderr.replace("'train_los'", "")


# --- the loss curves in the terminal ---------------------------------------------------------


def _charts(text: str) -> list[str]:
    """The plotext charts in *text*: runs of lines holding braille dots."""
    charts: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if any(ord(ch) in BRAILLE for ch in line):
            current.append(line)
        elif current:
            charts.append("\n".join(current))
            current = []
    if current:
        charts.append("\n".join(current))
    return charts


def test_metrics_draws_the_loss_curves_under_the_table(run: Any) -> None:
    result = run("metrics", "job-1")
    assert result.exit_code == 0, result.output
    [chart] = _charts(result.stdout)
    assert result.stdout.index("series") < result.stdout.index(chart)  # under the table
    assert "train_loss" in chart
    assert "eval_loss" in chart
    assert "tokens" not in chart  # the loss alone on its axis
    assert "accuracy" not in chart


def test_series_picked_get_a_chart_per_kind(run: Any) -> None:
    result = run("metrics", "job-1", "--series", "train_loss", "--series", "train_tokens")
    assert result.exit_code == 0, result.output
    assert len(_charts(result.stdout)) == 2


def test_json_output_draws_no_chart(run: Any) -> None:
    result = run("--json", "metrics", "job-1")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert not any(ord(ch) in BRAILLE for ch in result.output)


# --- generate --candidates ---------------------------------------------------------------------


def test_generate_shows_every_candidate(run: Any) -> None:
    result = run("generate", "endpoints/e", "hi", "--candidates", "2")
    assert result.exit_code == 0, result.output
    assert 0 <= result.stdout.index("answer 1") < result.stdout.index("answer 2")
    assert "candidate 2 of 2" in result.stdout


def test_generate_with_one_candidate_prints_just_the_text(run: Any) -> None:
    result = run("generate", "endpoints/e", "hi")
    assert result.exit_code == 0, result.output
    assert result.stdout == "answer 1\n"
