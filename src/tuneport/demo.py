"""``tuneport demo``: the whole tuning lifecycle on the embedded emulator.

The demo writes one dataset file and one ``tuneport.toml`` with a profile per
backend, then runs the same script once per profile — validate, create,
wait, loss curve, generate, list, cancel a second job, delete — changing
only the profile name.  Where the backend runs preference tuning and
continues from checkpoints (vertex), the script also runs Google's DPO
recipe: the supervised job was tuned on the preferred answers, and a
preference job continues from its checkpoint.  Nothing leaves the machine.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tuneport.client import TuningClient
    from tuneport.models import MetricPoint, Metrics, PreferenceExample, TuningJob

__all__ = ["NUMBER_SUCCESSOR", "DEMO_CONFIG", "DemoResult", "run_demo"]

#: The number-successor dataset of Google's tuning tutorial, in several notations.
NUMBER_SUCCESSOR: tuple[tuple[str, str], ...] = (
    ("1", "2"),
    ("3", "4"),
    ("-3", "-2"),
    ("twenty two", "twenty three"),
    ("two hundred", "two hundred one"),
    ("ninety nine", "one hundred"),
    ("8", "9"),
    ("-98", "-97"),
    ("1,000", "1,001"),
    ("10,100,000", "10,100,001"),
    ("thirteen", "fourteen"),
    ("eighty", "eighty one"),
    ("one", "two"),
    ("three", "four"),
    ("seven", "eight"),
    ("I", "II"),
    ("IV", "V"),
    ("IX", "X"),
    ("XIX", "XX"),
    ("LXII", "LXIII"),
)

#: One profile per backend; the demo script is the same for each.
DEMO_CONFIG = """\
# Written by `tuneport demo`: one profile per backend, both on the embedded emulator.
[profiles.demo-gemini]
backend = "gemini"
endpoint = "embedded"
job = { base_model = "models/gemini-1.5-flash-001-tuning" }

[profiles.demo-vertex]
backend = "vertex"
endpoint = "embedded"
project = "tuneport-demo"
location = "us-central1"
staging_bucket = "gs://tuneport-demo"
job = { base_model = "gemini-2.5-flash" }
"""
PROFILES = ("demo-gemini", "demo-vertex")


@dataclass
class DemoResult:
    """What one profile's run did (the ``--json`` output)."""

    profile: str
    backend: str
    ran: bool = True
    skipped_reason: str | None = None
    job_id: str | None = None
    final_state: str | None = None
    steps: int | None = None
    loss_first: float | None = None
    loss_last: float | None = None
    answer: str | None = None
    cancelled_state: str | None = None
    listed: int | None = None
    #: The tuning methods the profile ran, in order.
    methods: list[str] = field(default_factory=list)
    #: The supervised job's checkpoints (ids), where the backend reports them.
    checkpoints: list[str] = field(default_factory=list)
    #: The DPO recipe's preference job, where the backend runs one.
    preference_job_id: str | None = None
    preference_state: str | None = None
    #: The checkpoint of the supervised job the preference job continued from.
    preference_source_checkpoint: str | None = None
    preference_checkpoints: list[str] = field(default_factory=list)
    preference_loss_first: float | None = None
    preference_loss_last: float | None = None
    preference_answer: str | None = None
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)


def run_demo(
    console: Console, *, profiles: Sequence[str] = PROFILES, workdir: Path | None = None
) -> list[DemoResult]:
    """Run the lifecycle once per profile and return what happened."""
    with tempfile.TemporaryDirectory(prefix="tuneport-demo-") as scratch:
        folder = workdir or Path(scratch)
        config = folder / "tuneport.toml"
        config.write_text(DEMO_CONFIG, encoding="utf-8")
        dataset = folder / "number_successor.jsonl"
        dataset.write_text(
            "".join(json.dumps({"text_input": q, "output": a}) + "\n" for q, a in NUMBER_SUCCESSOR),
            encoding="utf-8",
        )
        console.print(f"[bold]tuneport demo[/bold] — one script, {len(profiles)} profile(s) of {config}")
        console.print(f"dataset: {dataset.name}, {len(NUMBER_SUCCESSOR)} examples (number → its successor)\n")
        results = [_run_profile(console, profile, config, dataset) for profile in profiles]
        ran = [r.profile for r in results if r.ran]
        if len(ran) > 1:
            console.print(
                f"The same script ran on {' and '.join(ran)}: only the profile changed "
                "(backend, endpoint and base model come from tuneport.toml)."
            )
        return results


def _run_profile(console: Console, profile: str, config: Path, dataset: Path) -> DemoResult:
    import tuneport
    from tuneport.protocol import Maturity

    started = time.monotonic()
    backend = tuneport.open_backend(profile, config=config)
    result = DemoResult(profile=profile, backend=backend.name)
    console.rule(f"profile [bold]{profile}[/bold] (backend {backend.name})")
    if backend.maturity is Maturity.SETTINGS_ONLY:
        result.ran = False
        result.skipped_reason = f"the {backend.name} backend holds only its settings in this release"
        console.print(f"skipped: {result.skipped_reason}\n")
        return result
    with tuneport.connect(profile, config=config) as client:
        _lifecycle(console, client, profile, config, dataset, result)
    result.seconds = round(time.monotonic() - started, 2)
    console.print(f"[green]done[/green] in {result.seconds:.1f}s\n")
    return result


def _step(console: Console, result: DemoResult, text: str) -> None:
    result.events.append(text)
    console.print(f"[cyan]→[/cyan] {text}")


def _lifecycle(
    console: Console, client: TuningClient, profile: str, config: Path, dataset: Path, result: DemoResult
) -> None:
    import tuneport
    from tuneport.plotting import terminal_chart

    fields: dict[str, Any] = {"training_data": dataset, "display_name": "number successor", "epoch_count": 3}
    spec = client.spec(**fields)  # the profile supplies the base model
    report = tuneport.validate(spec, profile=profile, config=config)
    train = report.datasets.get("training_data")
    _step(
        console,
        result,
        f"validated {dataset.name} for {report.base_model}: "
        f"{train.example_count if train else '?'} examples, {len(report.errors)} errors, "
        f"{len(report.warnings)} warnings",
    )
    report.raise_for_errors()

    job = client.create(spec)
    result.job_id = job.id
    _step(console, result, f"created job {job.id} ({job.state}, {job.method or spec.method} tuning)")
    job = client.wait(job.id, poll=0.2, timeout=120, progress=True)
    result.methods.append(spec.method.value)
    result.final_state, result.steps = job.state.value, job.completed_steps or job.total_steps
    _step(console, result, f"job {job.id} finished: {job.state}")

    metrics = client.metrics(job.id)
    name, points = _loss_curve(metrics)
    result.loss_first, result.loss_last = points[0].value, points[-1].value
    _step(
        console,
        result,
        f"loss curve '{name}': {len(points)} points, {points[0].value:.3f} → {points[-1].value:.3f}",
    )
    console.print(
        terminal_chart(metrics, series=name, width=64, height=12, color=console.is_terminal),
        markup=False,
        highlight=False,
    )

    generation = client.generate(job.id, "XIX")
    result.answer = generation.text
    _step(console, result, f"generate('XIX') → {generation.text!r}")

    finished = [job.id]
    left_out = _why_no_dpo_recipe(client, spec.base_model)
    if left_out is None:
        finished.append(_dpo_recipe(console, client, job, result, metrics))
    else:
        _step(console, result, f"Google's DPO recipe is left out: {left_out}")

    listed = list(client.list())
    result.listed = len(listed)
    _step(console, result, f"list: {len(listed)} job(s): {', '.join(j.id for j in listed)}")

    second = client.create(spec.model_copy(update={"display_name": "to be cancelled"}))
    cancelled = client.cancel(second.id)
    cancelled = client.wait(second.id, poll=0.2, timeout=60, raise_on_failure=False)
    result.cancelled_state = cancelled.state.value
    _step(console, result, f"started {second.id} and cancelled it: {cancelled.state}")

    for job_id in (*finished, second.id):
        client.delete(job_id)
    _step(console, result, f"deleted {', '.join(finished)} and {second.id}")


def _loss_curve(metrics: Metrics) -> tuple[str, tuple[MetricPoint, ...]]:
    """The canonical loss curve (train_loss) first, whatever else the backend reports."""
    ranked = sorted(metrics.series.items(), key=lambda item: (item[0] != "train_loss", item[0]))
    return next((n, p) for n, p in ranked if p)


def _why_no_dpo_recipe(client: TuningClient, base_model: str) -> str | None:
    """Why preference tuning cannot continue from the supervised job's checkpoint (``None``: it can)."""
    from tuneport.models import TuningMethod

    caps = client.capabilities
    name = client.backend.name
    if TuningMethod.PREFERENCE not in caps.methods:
        methods = ", ".join(sorted(m.value for m in caps.methods))
        return f"the {name} backend runs {methods} tuning only"
    if not (caps.continuous_tuning and caps.checkpoints):
        return f"the {name} backend does not continue tuning from a checkpoint"
    entry = client.catalog.get(name, base_model) if client.catalog is not None else None
    if entry is not None and entry.method_rule(TuningMethod.PREFERENCE) is None:
        return f"{base_model} does not take preference tuning on {name}"
    return None


def _preferences() -> tuple[PreferenceExample, ...]:
    """The number-successor pairs as preferences: the successor over the number repeated."""
    from tuneport.models import PreferenceExample

    return tuple(PreferenceExample(prompt=q, preferred=a, rejected=q) for q, a in NUMBER_SUCCESSOR)


def _dpo_recipe(
    console: Console, client: TuningClient, supervised: TuningJob, result: DemoResult, metrics: Metrics
) -> str:
    """Google's DPO recipe, step 2: preference tuning continued from the supervised job's checkpoint.

    The supervised job was step 1 (its answers are the preferred ones).  Returns the preference job's id.
    """
    result.checkpoints = [c.id for c in supervised.checkpoints]
    _step(console, result, "Google's DPO recipe: step 1 was that supervised job; its checkpoints:")
    _checkpoint_table(console, supervised, metrics)
    source = supervised.default_checkpoint or supervised.checkpoints[-1]
    job = client.create(
        base_model=supervised,
        checkpoint=source.id,
        method="preference",
        training_data=_preferences(),
        display_name="number successor (preference)",
        epoch_count=2,
        beta=0.1,
    )
    result.preference_job_id, result.preference_source_checkpoint = job.id, source.id
    _step(
        console,
        result,
        f"created preference job {job.id} continued from checkpoint {source.id} of {supervised.id} "
        f"({len(NUMBER_SUCCESSOR)} preferences: the successor over the number repeated, beta 0.1)",
    )
    job = client.wait(job.id, poll=0.2, timeout=120, progress=True)
    result.methods.append("preference")
    result.preference_state = job.state.value
    _step(console, result, f"preference job {job.id} finished: {job.state}")
    preference_metrics = client.metrics(job.id)
    name, points = _loss_curve(preference_metrics)
    result.preference_loss_first, result.preference_loss_last = points[0].value, points[-1].value
    _step(
        console,
        result,
        f"preference loss '{name}': {len(points)} points, {points[0].value:.3f} → {points[-1].value:.3f}",
    )
    result.preference_checkpoints = [c.id for c in job.checkpoints]
    _step(console, result, f"checkpoints of {job.id}:")
    _checkpoint_table(console, job, preference_metrics)
    generation = client.generate(job.id, "XIX")
    result.preference_answer = generation.text
    _step(console, result, f"generate('XIX') from the preference-tuned model → {generation.text!r}")
    return job.id


def _checkpoint_table(console: Console, job: TuningJob, metrics: Metrics) -> None:
    """A job's checkpoints with the training loss at each (what `tuneport checkpoints JOB` shows)."""
    from rich.table import Table

    name, _ = _loss_curve(metrics)
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for column in ("checkpoint", "epoch", "step", name, ""):
        table.add_column(column)
    for checkpoint in job.checkpoints:
        loss = metrics.at_step(checkpoint.step).get(name) if checkpoint.step is not None else None
        table.add_row(
            checkpoint.id,
            "" if checkpoint.epoch is None else str(checkpoint.epoch),
            "" if checkpoint.step is None else str(checkpoint.step),
            "" if loss is None else f"{loss:.3f}",
            "default" if checkpoint.is_default else "",
        )
    console.print(table)
