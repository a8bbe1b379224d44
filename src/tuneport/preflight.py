"""Pre-flight checks: everything about a job that can be refused before any request.

:func:`preflight` applies the backend's capabilities and the model catalog to
a :class:`~tuneport.models.JobSpec` and validates its datasets, collecting
every finding.  ``client.create()`` raises the most fundamental one
(:meth:`PreflightReport.raise_for_errors`); :func:`tuneport.validate` returns
the whole report, with the requests the backend would send.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tuneport._suggest import close_matches, did_you_mean
from tuneport.errors import (
    DatasetError,
    Problem,
    Remedy,
    SpecError,
    UnsupportedCapability,
    UnsupportedParameter,
    ValidationError,
)
from tuneport.models import JobSpec, TuningMethod
from tuneport.protocol import Capabilities, Maturity, Operation, TuningBackend

if TYPE_CHECKING:
    from tuneport.catalog import Catalog, CatalogEntry
    from tuneport.cost import CostEstimate
    from tuneport.datasets import DatasetReport, DatasetRole

__all__ = ["Finding", "PreflightReport", "preflight", "problem_dict"]

log = logging.getLogger("tuneport")

#: What a finding is about; decides the error class when it is raised.
Kind = Literal["capability", "parameter", "spec", "dataset"]
_RAISE_ORDER: tuple[Kind, ...] = ("capability", "parameter", "spec", "dataset")


@dataclass(frozen=True)
class Finding:
    """One pre-flight problem and what it is about."""

    kind: Kind
    """What the problem is about: ``"capability"``, ``"parameter"``, ``"spec"`` or ``"dataset"``."""
    problem: Problem
    """The problem itself."""

    @classmethod
    def of(cls, kind: Kind, message: str, *, field: str, rule: str) -> Finding:
        """A blocking finding of *kind* about *field*."""
        return cls(kind, Problem(message, field=field, rule=rule))


@dataclass
class PreflightReport:
    """All findings of a pre-flight check, the dataset reports, and the plan."""

    backend: str
    """The backend checked against."""
    base_model: str
    """The base model checked."""
    entry: CatalogEntry | None
    """The model's catalog entry, or ``None`` when the catalog does not list it."""
    findings: list[Finding] = field(default_factory=list)
    """Every finding, in order, each with its ``kind`` and ``problem``."""
    datasets: dict[str, DatasetReport] = field(default_factory=dict)
    """The dataset reports by field (``"training_data"``, ``"validation_data"``)."""
    plan: list[dict[str, Any]] | None = None
    """The requests the backend would send (``method``, ``url``, ``params``, ``json``)."""
    plan_note: str | None = None
    """Why there is no plan, when there is none: the backend cannot describe its requests in
    advance, the spec has problems that stop the plan (then among the findings), or its
    planning raised another error.
    """
    cost: CostEstimate | None = None
    """What the job is expected to cost (docs/cost.md); ``None`` when not estimated."""

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every problem, errors and warnings."""
        return tuple(f.problem for f in self.findings)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that block the job."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems worth knowing that do not block the job."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when nothing blocks the job."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise the typed error of the most fundamental blocking finding."""
        for kind in _RAISE_ORDER:
            blocking = [f.problem for f in self.findings if f.kind == kind and f.problem.severity == "error"]
            if not blocking:
                continue
            first = blocking[0]
            if kind == "capability":
                raise UnsupportedCapability(self.backend, "create", reason=first.message)
            if kind == "parameter":
                raise UnsupportedParameter(
                    self.backend,
                    first.field or "?",
                    reason=first.message,
                    model=self.base_model if self.entry else None,
                )
            if kind == "spec":
                raise SpecError(blocking, summary=f"the job spec is not accepted by {self.backend}")
            problems = [f.problem for f in self.findings if f.kind == "dataset"]
            # Counted in full: a dataset's report keeps its first problems, and counts every one.
            reports = self.datasets.values()
            found = len(blocking) - sum(len(r.errors) for r in reports) + sum(r.error_count for r in reports)
            counts: Counter[str] = Counter()
            for report in reports:
                counts.update(report.counts_by_rule)
            raise DatasetError(
                problems, summary=f"{found:,} dataset problem(s) block the job", counts_by_rule=counts
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``tuneport --json`` output)."""
        return {
            "backend": self.backend,
            "base_model": self.base_model,
            "ok": self.ok,
            "catalog_entry": self.entry.summary() if self.entry else None,
            "problems": [{"kind": f.kind, **problem_dict(f.problem)} for f in self.findings],
            "datasets": {name: report.to_dict() for name, report in self.datasets.items()},
            "plan": self.plan,
            "plan_note": self.plan_note,
            "cost": self.cost.to_dict() if self.cost is not None else None,
        }


def problem_dict(problem: Problem, spell: Callable[[Remedy], str] | None = None) -> dict[str, Any]:
    """*problem* as JSON-able data: its set fields, its remedies spelt by *spell* (as Python by default)."""
    data = {k: v for k, v in vars(problem).items() if v is not None and k != "remedies"}
    if problem.remedies:
        data["remedies"] = [(spell or Remedy.python)(remedy) for remedy in problem.remedies]
    return data


def _data_kind(source: object) -> str:
    if isinstance(source, tuple):
        return "inline"
    if isinstance(source, str) and "://" in source:
        return "uri"
    return "file"


def preflight(
    spec: JobSpec,
    *,
    backend: TuningBackend,
    catalog: Catalog | None = None,
    validate_data: bool = True,
    max_problems: int = 100,
) -> PreflightReport:
    """Check *spec* against *backend*'s capabilities and the catalog; validate its data."""
    name = backend.name
    caps = backend.capabilities
    entry = catalog.get(name, spec.base_model) if catalog else None
    report = PreflightReport(backend=name, base_model=spec.base_model, entry=entry)
    add = report.findings.append

    if not caps.supports(Operation.CREATE):
        why = (
            "this version of the backend holds only its registration and settings"
            if backend.maturity is Maturity.SETTINGS_ONLY
            else f"backend '{name}' cannot create jobs"
        )
        add(Finding("capability", Problem(why, rule="unsupported-operation")))
    _check_model(spec, name, entry, catalog, add)
    _check_method(spec, name, caps, entry, add)
    _check_spec_fields(spec, name, caps, add)

    # A hyperparameter must be supported by the backend's code and by the model, for the method.
    accepted = set(caps.hyperparameters_of(spec.method))
    if entry is not None and entry.method_rule(spec.method) is not None:
        accepted &= set(entry.hyperparameters_of(spec.method))
    given = spec.hyperparameters.given()
    for param in given:
        if param not in accepted:
            add(
                Finding(
                    "parameter",
                    Problem(
                        f"{spec.method} tuning accepts: {', '.join(sorted(accepted)) or 'none'}",
                        field=f"hyperparameters.{param}",
                        rule="unsupported-parameter",
                    ),
                )
            )
    if entry is not None:
        from tuneport.catalog import check_hyperparameters

        known = {k: v for k, v in given.items() if k in accepted}
        report.findings.extend(Finding("spec", p) for p in check_hyperparameters(entry, known, spec.method))
        location = getattr(backend.settings, "location", None)
        regions = entry.regions_of(spec.method)
        if regions and isinstance(location, str) and location not in regions:
            add(
                Finding(
                    "parameter",
                    Problem(
                        f"{spec.base_model} is not tuned in '{location}' (regions: {', '.join(regions)})",
                        field="location",
                        rule="region-not-supported",
                    ),
                )
            )

    _check_backend(backend, spec, add)

    validation_ok = caps.validation_data and (entry is None or entry.validation_data)
    if spec.validation_data is not None and not validation_ok:
        add(
            Finding(
                "parameter",
                Problem(
                    "no validation dataset is accepted here",
                    field="validation_data",
                    rule="unsupported-parameter",
                ),
            )
        )
    for field_name in ("training_data", "validation_data"):
        source = getattr(spec, field_name)
        if source is None:
            continue
        kind = _data_kind(source)
        if kind not in caps.data_sources:
            accepted_kinds = ", ".join(sorted(caps.data_sources))
            add(
                Finding(
                    "parameter",
                    Problem(
                        f"{kind} data is not accepted (accepted: {accepted_kinds})",
                        field=field_name,
                        rule="unsupported-data-source",
                    ),
                )
            )
        elif (
            validate_data
            and spec.method in caps.methods  # data of a method the backend cannot run is not read
            and not (field_name == "validation_data" and not validation_ok)
        ):
            _check_dataset(report, field_name, source, entry, max_problems, spec.method)
    # The cross-file rule: validation data no larger than its documented share of the training data.
    if entry is not None:
        from tuneport.datasets.split_rules import check_split

        shares = check_split(spec, report.datasets, entry.limits_of(spec.method), backend=name)
        report.findings.extend(Finding("dataset", problem) for problem in shares)
    report.cost = _estimate_cost(spec, report, validate_data)
    return report


def _estimate_cost(spec: JobSpec, report: PreflightReport, validate_data: bool) -> CostEstimate:
    """The job's cost estimate, measured only on training data that was read and found valid."""
    from tuneport.cost import estimate_job

    training = report.datasets.get("training_data")
    data_ok: bool | str = True
    if not validate_data:
        data_ok = "dataset validation was skipped"
    elif training is None or not training.checked or training.errors:
        data_ok = "the training data was not read or has errors"
    return estimate_job(spec, backend=report.backend, entry=report.entry, data_ok=data_ok)


#: Optional JobSpec fields a backend sends only when it declares them (``Capabilities.spec_fields``).
SPEC_FIELDS = ("tuning_mode", "output_uri", "custom_base_model", "encryption_key", "service_account")


def _check_method(
    spec: JobSpec, backend: str, caps: Capabilities, entry: CatalogEntry | None, add: Any
) -> None:
    """The method, continuous tuning and evaluation: declared by the backend, listed for the model."""
    method = spec.method
    rule = entry.method_rule(method) if entry is not None else None
    if method not in caps.methods:
        runs = ", ".join(sorted(m.value for m in caps.methods)) or "none"
        message = f"backend '{backend}' cannot run {method} tuning (it runs: {runs})"
        add(Finding.of("capability", message, field="method", rule="unsupported-method"))
    elif entry is not None and rule is None:
        takes = ", ".join(sorted(m.value for m in entry.methods)) or "none"
        message = f"{entry.base_model} does not take {method} tuning on {backend} (it takes: {takes})"
        add(Finding.of("parameter", message, field="method", rule="unsupported-method"))
    elif (
        entry is not None
        and rule is not None
        and rule.teachers
        and spec.teacher_model is not None
        and spec.teacher_model not in rule.teachers
    ):
        hint = did_you_mean(close_matches(spec.teacher_model, rule.teachers, n=2))
        message = (
            f"{entry.base_model} is distilled from {', '.join(rule.teachers)}, "
            f"not '{spec.teacher_model}'{hint}"
        )
        add(Finding.of("parameter", message, field="teacher_model", rule="unsupported-teacher"))
    if spec.tuned_model is not None and not caps.continuous_tuning:
        message = f"backend '{backend}' cannot continue tuning a tuned model (tuned_model)"
        add(Finding.of("capability", message, field="tuned_model", rule="unsupported-continuous-tuning"))
    if spec.evaluation is not None and not caps.evaluation:
        message = f"backend '{backend}' does not evaluate tuned models"
        add(Finding.of("parameter", message, field="evaluation", rule="unsupported-parameter"))


def _check_spec_fields(spec: JobSpec, backend: str, caps: Capabilities, add: Any) -> None:
    """Optional spec fields the backend does not send are refused, not dropped."""
    sends = ", ".join(sorted(caps.spec_fields)) or "none of them"
    for name in SPEC_FIELDS:
        if getattr(spec, name) is not None and name not in caps.spec_fields:
            message = f"backend '{backend}' does not send {name} (optional fields it sends: {sends})"
            add(Finding.of("parameter", message, field=name, rule="unsupported-parameter"))


def _check_backend(backend: TuningBackend, spec: JobSpec, add: Any) -> None:
    """What the backend itself refuses (its :meth:`~tuneport.protocol.TuningBackend.check_spec`)."""
    try:
        backend.check_spec(spec)
    except ValidationError as exc:
        for problem in exc.problems:
            add(Finding("spec", problem))
    except UnsupportedParameter as exc:
        add(
            Finding(
                "parameter",
                Problem(exc.reason or str(exc), field=exc.parameter, rule="unsupported-parameter"),
            )
        )
    except UnsupportedCapability as exc:
        add(Finding("capability", Problem(exc.reason or str(exc), rule="unsupported-operation")))


def _check_model(
    spec: JobSpec,
    backend: str,
    entry: CatalogEntry | None,
    catalog: Catalog | None,
    add: Any,
) -> None:
    model = spec.base_model
    typo = catalog.likely_typo(backend, model) if entry is None and catalog is not None else None
    if typo is not None:
        # Even where unlisted models are allowed: a near miss of a listed name is a typo, and
        # sending it would upload the data only for the service to refuse the job.
        add(
            Finding(
                "parameter",
                Problem(
                    f"'{model}' is not in the model catalog of '{backend}'; did you mean '{typo}'? "
                    f'(a new model: add it under [catalog.{backend}."{model}"] in tuneport.toml)',
                    field="base_model",
                    rule="unknown-model",
                ),
            )
        )
        return
    if entry is None:
        if catalog is not None and catalog.policy(backend) == "refuse":
            names = [n for e in catalog.models(backend) for n in e.names]
            hint = did_you_mean(close_matches(model, names, n=2))
            add(
                Finding(
                    "parameter",
                    Problem(
                        f"'{model}' is not in the model catalog of '{backend}', which refuses unlisted models"
                        f'{hint} (add it under [catalog.{backend}."{model}"] in tuneport.toml)',
                        field="base_model",
                        rule="unknown-model",
                    ),
                )
            )
        elif catalog is not None:
            add(
                Finding(
                    "parameter",
                    Problem(
                        f"'{model}' is not in the model catalog of '{backend}': its limits are not checked",
                        field="base_model",
                        rule="model-not-in-catalog",
                        severity="warning",
                    ),
                )
            )
        return
    if not entry.tunable:
        reason = entry.reason or f"status {entry.status}"
        when = f", discontinued {entry.discontinued}" if entry.discontinued else ""
        add(
            Finding(
                "capability",
                Problem(
                    f"base model '{model}' cannot be tuned: {reason}{when} (override with "
                    f'[catalog.{backend}."{model}"] tunable = true in tuneport.toml)',
                    field="base_model",
                    rule="not-tunable",
                ),
            )
        )
    elif (closed := entry.tuning_closed(_today())) is not None:
        add(
            Finding(
                "capability",
                Problem(
                    f"base model '{model}' cannot be tuned: {closed} (if Google moved the date, "
                    f'set [catalog.{backend}."{model}"] tuning_cutoff in tuneport.toml)',
                    field="base_model",
                    rule="not-tunable",
                ),
            )
        )
    elif entry.status == "deprecated":
        add(
            Finding(
                "parameter",
                Problem(
                    f"base model '{model}' is deprecated: "
                    f"{entry.reason or 'see ' + (entry.source or 'the docs')}",
                    field="base_model",
                    rule="deprecated-model",
                    severity="warning",
                ),
            )
        )


def _today() -> dt.date:
    """Today's date in UTC, the calendar of the service's cut-off dates."""
    return dt.datetime.now(dt.timezone.utc).date()


def _check_dataset(
    report: PreflightReport,
    field_name: str,
    source: Any,
    entry: CatalogEntry | None,
    max_problems: int,
    method: TuningMethod = TuningMethod.SUPERVISED,
) -> None:
    from tuneport.datasets import validate_dataset

    role: DatasetRole = "training" if field_name == "training_data" else "validation"
    limits = entry.limits_of(method) if entry is not None else None
    try:
        result = validate_dataset(source, limits=limits, role=role, max_problems=max_problems, method=method)
    except DatasetError as error:
        # Unreadable, or another method's data: a finding like any other, so a more
        # fundamental one (the backend cannot run the method at all) is still raised first.
        report.findings.extend(Finding("dataset", problem) for problem in error.problems)
        return
    report.datasets[field_name] = result
    for problem in result.problems:
        # In-memory data has no file name: say which dataset the line is in.
        unnamed = problem.source in (None, "", "<examples>")
        named = dataclasses.replace(problem, source=field_name) if unnamed else problem
        report.findings.append(Finding("dataset", named))
