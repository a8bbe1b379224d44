"""The model catalog: per backend and base model, what tuning accepts.

The catalog is data, not code paths.  Each backend plugin ships a TOML file
(citing its sources in comments) and registers its entries through the
:func:`~tuneport.hookspecs.register_catalog` hook; users patch or extend it
from ``tuneport.toml`` (``[catalog.<backend>."<model>"]``) because the
services change faster than releases.

An entry says whether new tuning is accepted, which hyperparameters exist and
in which range, which of them exclude each other, the dataset limits, the
tuning regions and lifecycle dates.  :func:`check_spec` applies it to a
:class:`~tuneport.models.JobSpec` before any request is sent.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuneport._methods import TuningMethod
from tuneport._suggest import close_matches, did_you_mean
from tuneport.datasets.limits import DatasetLimits
from tuneport.errors import ConfigError, PluginError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "Catalog",
    "CatalogEntry",
    "MethodRule",
    "ParamRule",
    "NO_CUTOFF",
    "Price",
    "UnknownModelPolicy",
    "entries_from_toml",
]

#: What to do with a base model the catalog does not list.
UnknownModelPolicy = Literal["allow", "refuse"]
Status = Literal["available", "preview", "deprecated", "retired"]


class ParamRule(BaseModel):
    """The accepted values of one hyperparameter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    #: The minimum itself is not allowed (a learning rate must be > 0).
    min_exclusive: bool = False
    max: float | None = None
    #: Allowed values (e.g. adapter sizes); checked instead of min/max when set.
    choices: tuple[float, ...] | None = None
    integer: bool = False
    #: The service's default, for display.
    default: int | float | str | None = None
    note: str | None = None

    def problem(self, name: str, value: float) -> Problem | None:
        """A :class:`Problem` when *value* is not accepted, else ``None``."""
        field_name = f"hyperparameters.{name}"
        if self.integer and not (isinstance(value, int) or float(value).is_integer()):
            return Problem(f"must be a whole number, got {value}", field=field_name, rule="not-an-integer")
        if self.choices is not None:
            if value not in self.choices:
                allowed = ", ".join(f"{c:g}" for c in self.choices)
                return Problem(
                    f"must be one of {allowed}, got {value:g}", field=field_name, rule="not-a-choice"
                )
            return None
        if self.min is not None and (value < self.min or (self.min_exclusive and value == self.min)):
            bound = ">" if self.min_exclusive else "≥"
            return Problem(
                f"must be {bound} {self.min:g}, got {value:g}", field=field_name, rule="out-of-range"
            )
        if self.max is not None and value > self.max:
            return Problem(f"must be ≤ {self.max:g}, got {value:g}", field=field_name, rule="out-of-range")
        return None

    def describe(self) -> str:
        """A short human description (``1-10``, ``1, 2, 4``…)."""
        if self.choices is not None:
            text = ", ".join(f"{c:g}" for c in self.choices)
        elif self.min is not None or self.max is not None:
            low = f"{self.min:g}" if self.min is not None else ""
            high = f"{self.max:g}" if self.max is not None else ""
            bound = ">" if self.min_exclusive else "≥"
            text = f"{low}-{high}" if low and high else (f"{bound} {low}" if low else f"≤ {high}")
        else:
            text = "any"
        if self.default is not None:
            text += f" (default {self.default})"
        return text


#: How long before a base model retires Google stops accepting new tuning jobs on it
#: ("one month before the end date, new access … for tuning is blocked":
#: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versioning).
TUNING_CUTOFF_BEFORE_RETIREMENT = dt.timedelta(days=30)
#: A ``tuning_cutoff`` that never comes: set where tuning was reopened on purpose
#: (``tunable = true`` from ``tuneport.toml``, or the emulator's historical models).
NO_CUTOFF = dt.date.max


class Price(BaseModel):
    """A published training price: ``amount`` per ``per`` billable training tokens.

    What the service bills for a job is its billable tokens times epochs times this
    price (see ``docs/catalog.md``, "Money").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: float = Field(ge=0, allow_inf_nan=False)
    currency: str = "USD"
    #: How many tokens ``amount`` is for.
    per: int = Field(default=1_000_000, gt=0)
    #: Where the price is published (a URL) and the date it was read there.
    source: str | None = None
    read: dt.date | None = None

    def per_token(self) -> float:
        """The price of one billable training token."""
        return self.amount / self.per


class MethodRule(BaseModel):
    """What one tuning method accepts on a base model, where it differs from the entry's defaults.

    Unset fields fall back to the entry's: a supervised-only entry needs no
    method table at all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Accepted hyperparameters of this method (``None``: the entry's).
    hyperparameters: Mapping[str, ParamRule] | None = None
    #: Dataset limits of this method (``None``: the entry's).
    limits: DatasetLimits | None = None
    #: Distillation: the teacher models accepted (empty: any).
    teachers: tuple[str, ...] = ()
    #: Where this method tunes, when narrower than the entry's regions (empty: the entry's).
    regions: tuple[str, ...] = ()
    status: Status = "available"
    #: The training price of this method (``None``: the entry's).
    price: Price | None = None
    note: str | None = None
    source: str | None = None


def _supervised_only() -> dict[TuningMethod, MethodRule]:
    return {TuningMethod.SUPERVISED: MethodRule()}


class CatalogEntry(BaseModel):
    """What one base model accepts on one backend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str
    base_model: str
    #: Other names of the same model (e.g. without the ``models/`` prefix).
    aliases: tuple[str, ...] = ()
    display_name: str | None = None
    #: Whether the service accepts new tuning jobs on this model today.
    tunable: bool = True
    status: Status = "available"
    #: The embedded emulator still accepts new tuning on it (historical models), so
    #: pipelines can be exercised offline even when the service no longer tunes it.
    emulated: bool = False
    #: Why the model is not tunable, or anything a user should know.
    reason: str | None = None
    #: Accepted hyperparameters; one not listed is refused.
    hyperparameters: Mapping[str, ParamRule] = Field(default_factory=dict)
    #: Groups of hyperparameters of which at most one may be set.
    exclusive: tuple[tuple[str, ...], ...] = ()
    #: The tuning methods the model accepts, each with what differs from the entry's defaults.
    methods: Mapping[TuningMethod, MethodRule] = Field(default_factory=_supervised_only)
    limits: DatasetLimits = DatasetLimits()
    #: Whether a validation dataset is accepted.
    validation_data: bool = False
    #: Where tuning runs (empty: not region-bound).
    regions: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ("text",)
    #: Where the tuned model is served when that is not where it was tuned (e.g. ``us``, ``eu``
    #: multi-regions only); empty: in the region of the job.
    serving: tuple[str, ...] = ()
    released: dt.date | None = None
    #: The retirement date (the tuned models retire with their base model).
    discontinued: dt.date | None = None
    #: The last day new tuning is accepted (default: 30 days before ``discontinued``).
    tuning_cutoff: dt.date | None = None
    #: The published training price (``None``: none published; ``price_note`` says so).
    price: Price | None = None
    price_note: str | None = None
    #: Where these facts come from (a URL) and the date it was read.
    source: str | None = None
    source_read: dt.date | None = None
    #: Further pages the entry's facts come from (model page, lifecycle page…).
    sources: tuple[str, ...] = ()
    #: What is known, and what could not be confirmed, about the model's dates.
    lifecycle_note: str | None = None

    @model_validator(mode="after")
    def _exclusive_names_exist(self) -> CatalogEntry:
        for group in self.exclusive:
            unknown = [name for name in group if name not in self.hyperparameters]
            if unknown:
                raise ValueError(f"exclusive group names unknown hyperparameters: {', '.join(unknown)}")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The model's name and its aliases."""
        return (self.base_model, *self.aliases)

    def method_rule(self, method: TuningMethod | str) -> MethodRule | None:
        """What *method* accepts on this model (``None``: the model does not take it)."""
        return self.methods.get(TuningMethod(method))

    def hyperparameters_of(self, method: TuningMethod | str) -> Mapping[str, ParamRule]:
        """The hyperparameters *method* accepts on this model (empty if it does not take the method)."""
        rule = self.method_rule(method)
        if rule is None:
            return {}
        return self.hyperparameters if rule.hyperparameters is None else rule.hyperparameters

    def limits_of(self, method: TuningMethod | str) -> DatasetLimits:
        """The dataset limits of *method* on this model."""
        rule = self.method_rule(method)
        return self.limits if rule is None or rule.limits is None else rule.limits

    def price_of(self, method: TuningMethod | str) -> Price | None:
        """The training price of *method* on this model (``None``: no published price)."""
        rule = self.method_rule(method)
        return rule.price if rule is not None and rule.price is not None else self.price

    @property
    def tuning_ends(self) -> dt.date | None:
        """The last day new tuning is accepted, if the model has a retirement date."""
        if self.tuning_cutoff is not None:
            return self.tuning_cutoff
        if self.discontinued is not None:
            return self.discontinued - TUNING_CUTOFF_BEFORE_RETIREMENT
        return None

    def tuning_closed(self, today: dt.date) -> str | None:
        """Why new tuning is no longer accepted on *today* (past the cut-off), else ``None``."""
        ends = self.tuning_ends
        if ends is None or today <= ends:
            return None
        if self.discontinued is None:
            return f"new tuning on {self.base_model} ended on {ends}"
        days = (self.discontinued - ends).days
        tense = "retired" if today >= self.discontinued else "retires"
        return (
            f"new tuning on {self.base_model} ended on {ends}, {days} days before it "
            f"{tense} on {self.discontinued}"
        )

    def all_sources(self) -> tuple[str, ...]:
        """Every page this entry cites: its own, its methods' and its prices', once each."""
        found = [self.source, *self.sources]
        found += [self.price.source if self.price else None]
        for rule in self.methods.values():
            found += [rule.source, rule.price.source if rule.price else None]
        return tuple(dict.fromkeys(s for s in found if s))

    def regions_of(self, method: TuningMethod | str) -> tuple[str, ...]:
        """Where *method* tunes this model (empty: not region-bound)."""
        rule = self.method_rule(method)
        return rule.regions if rule is not None and rule.regions else self.regions

    def summary(self) -> dict[str, Any]:
        """JSON-able description (for ``tuneport models --json``)."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass
class Catalog:
    """Entries by backend and model name, plus each backend's unknown-model policy."""

    entries: dict[tuple[str, str], CatalogEntry] = field(default_factory=dict)
    policies: dict[str, UnknownModelPolicy] = field(default_factory=dict)
    #: Where each backend's policy was set, for messages.
    policy_notes: dict[str, str] = field(default_factory=dict)

    def add(self, entry: CatalogEntry) -> None:
        """Add or replace an entry (a later registration wins)."""
        for key in [
            k
            for k, v in self.entries.items()
            if v.backend == entry.backend and v.base_model == entry.base_model
        ]:
            del self.entries[key]
        for name in entry.names:
            self.entries[(entry.backend, name)] = entry

    def set_policy(self, backend: str, policy: UnknownModelPolicy, note: str = "") -> None:
        """How *backend* treats base models the catalog does not list."""
        self.policies[backend] = policy
        if note:
            self.policy_notes[backend] = note

    def get(self, backend: str, base_model: str) -> CatalogEntry | None:
        """The entry of *base_model* on *backend* (by name or alias)."""
        return self.entries.get((backend, base_model))

    def for_emulator(self) -> Catalog:
        """A copy for a declared emulator: models it still emulates (``emulated``) are tunable there.

        The emulator tunes historical models the service no longer does, so a
        pipeline can be exercised offline; the client only ever sees a catalog.
        """
        copies: dict[int, CatalogEntry] = {}
        entries = {}
        # The emulator has no tuning cut-off either: its copy's cut-off never comes.
        reopened = {"tunable": True, "tuning_cutoff": NO_CUTOFF}
        for key, entry in self.entries.items():
            if entry.emulated:
                entries[key] = copies.setdefault(id(entry), entry.model_copy(update=reopened))
            else:
                entries[key] = entry
        return Catalog(entries, dict(self.policies), dict(self.policy_notes))

    def policy(self, backend: str) -> UnknownModelPolicy:
        """``allow`` (default) or ``refuse`` for models not listed."""
        return self.policies.get(backend, "allow")

    def likely_typo(self, backend: str, name: str) -> str | None:
        """The listed model *name* is most likely a misspelling of, else ``None``.

        A typo is a close match (:func:`difflib.SequenceMatcher` ratio of at least
        :data:`TYPO_CUTOFF`, ignoring case) that differs in more than digits: a
        name that differs only in its numbers (``gemini-3.6-flash`` next to
        ``gemini-3.5-flash``) is taken for a new version, not a typo.
        """
        known = [n for entry in self.models(backend) for n in entry.names]
        by_lower = {n.lower(): n for n in known}
        import difflib

        for candidate in difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=TYPO_CUTOFF):
            if _digits_only_difference(name.lower(), candidate):
                continue
            return by_lower[candidate]
        return None

    def models(self, backend: str | None = None) -> list[CatalogEntry]:
        """Distinct entries, optionally of one backend, sorted by backend then name."""
        seen: dict[int, CatalogEntry] = {}
        for entry in self.entries.values():
            if backend is None or entry.backend == backend:
                seen[id(entry)] = entry
        return sorted(seen.values(), key=lambda e: (e.backend, e.base_model))

    def with_overrides(
        self, overrides: Mapping[str, Any], *, source: str, backends: Collection[str] | None = None
    ) -> Catalog:
        """A copy patched by a ``[catalog]`` table of ``tuneport.toml``.

        ``overrides[backend][model]`` is merged into the model's entry (tables
        merge key by key); a model not in the catalog is added.  The special
        key ``unknown_models`` sets the backend's policy.  With ``backends``
        (the installed ones), a table for any other backend is refused: a
        misspelt name would otherwise be ignored.
        """
        result = Catalog(dict(self.entries), dict(self.policies), dict(self.policy_notes))
        for backend, models in overrides.items():
            if backends is not None and backend not in backends:
                close = close_matches(backend, backends)
                hint = did_you_mean(close, prefix="") or f"installed: {', '.join(sorted(backends))}"
                raise ConfigError(
                    f"no installed backend '{backend}'; {hint}", source=source, key=f"catalog.{backend}"
                )
            if not isinstance(models, Mapping):
                raise ConfigError("must be a table of models", source=source, key=f"catalog.{backend}")
            for model, patch in models.items():
                key = f"catalog.{backend}.{model}"
                if model == "unknown_models":
                    if patch not in ("allow", "refuse"):
                        raise ConfigError("must be 'allow' or 'refuse'", source=source, key=key)
                    result.set_policy(backend, patch, note=f"set in {source}")
                    continue
                if not isinstance(patch, Mapping):
                    raise ConfigError("must be a table of entry fields", source=source, key=key)
                current = result.get(backend, model)
                base = current.model_dump() if current else {"backend": backend, "base_model": model}
                merged = _deep_merge(base, dict(patch))
                merged.update(backend=backend, base_model=merged.get("base_model", model))
                if patch.get("tunable") is True and "tuning_cutoff" not in patch:
                    # Saying a model tunes means it tunes: past its cut-off date too.
                    merged["tuning_cutoff"] = NO_CUTOFF
                try:
                    result.add(CatalogEntry.model_validate(merged))
                except pydantic.ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    raise ConfigError(
                        f"{where}: {str(first['msg']).removeprefix('Value error, ')}", source=source, key=key
                    ) from None
        return result


#: How close (difflib ratio) an unlisted name must be to a listed one to be taken for a typo.
TYPO_CUTOFF = 0.9


def _digits_only_difference(a: str, b: str) -> bool:
    """Whether *a* and *b* differ, but only in their digits (a version, not a spelling)."""
    strip = str.maketrans("", "", "0123456789")
    return a != b and a.translate(strip) == b.translate(strip)


def _deep_merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def entries_from_toml(text: str, *, source: str) -> tuple[list[CatalogEntry], UnknownModelPolicy | None]:
    """Parse a catalog TOML file: ``[backend]`` defaults, then ``[models."name"]`` tables.

    Returns the entries and the file's ``unknown_models`` policy (if any).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PluginError(f"catalog {source}: invalid TOML: {exc}") from None
    defaults = dict(data.get("defaults", {}))
    policy = defaults.pop("unknown_models", None)
    entries = []
    for name, body in data.get("models", {}).items():
        try:
            entries.append(CatalogEntry.model_validate(_deep_merge(defaults, {"base_model": name, **body})))
        except pydantic.ValidationError as exc:
            raise PluginError(f"catalog {source}: model '{name}': {exc}") from None
    return entries, policy


def register_toml(
    text: str,
    *,
    source: str,
    register: Callable[[CatalogEntry], None],
    set_policy: Callable[..., None],
) -> None:
    """Register every entry of a catalog TOML file (the helper plugins use)."""
    entries, policy = entries_from_toml(text, source=source)
    for entry in entries:
        register(entry)
    backends = {entry.backend for entry in entries}
    if policy is not None:
        for backend in backends:
            set_policy(backend, policy, f"catalog {source}")


def check_hyperparameters(
    entry: CatalogEntry, given: Mapping[str, Any], method: TuningMethod | str = TuningMethod.SUPERVISED
) -> list[Problem]:
    """Range and exclusivity problems of *given* hyperparameters of *method* (unknown names: not here)."""
    problems = []
    rules = entry.hyperparameters_of(method)
    for name, value in given.items():
        rule = rules.get(name)
        if rule is not None and (problem := rule.problem(name, value)) is not None:
            problems.append(problem)
    for group in entry.exclusive:
        present = [name for name in group if name in given]
        if len(present) > 1:
            problems.append(
                Problem(
                    f"set at most one of {', '.join(present)} on {entry.base_model}",
                    field=f"hyperparameters.{present[1]}",
                    rule="mutually-exclusive",
                )
            )
    return problems
