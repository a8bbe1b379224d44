"""Tuned models and their creation operations: the Gemini surface's state and rules.

A tuned model is stored once, as a typed record
(:class:`~tuneport_emulator.gemini.records.TunedModel`) holding what the
client sent (normalized), the effective hyperparameters, the training
examples, the training plan (:mod:`tuneport_emulator.training`) and, when it
was stopped early, when and why.  Its :class:`~.records.State`, progress and
loss snapshots are computed from the plan and the emulator clock on every
read, and rendered to the wire's JSON here:

* ``CREATING`` from creation until the last step finishes;
* ``ACTIVE`` afterwards (``tuningTask.completeTime`` = when the last step finished);
* ``FAILED`` from the stop time on, if the job was stopped: a dataset over the
  service's limits (found when training would begin), a cancel, or a seed.

The checks made when a request arrives live in :mod:`.checks`; the dataset
limits fail the job instead (see docs/emulator.md).
"""

from __future__ import annotations

import math
from typing import Any

from tuneport_emulator import training
from tuneport_emulator.gemini.base_models import BASE_MODELS
from tuneport_emulator.gemini.checks import (
    MUTABLE_FIELDS,
    check_id,
    check_mutable,
    dataset_problem,
    mask_path,
    validate_create,
)
from tuneport_emulator.gemini.records import Example, State, Stop, TunedModel
from tuneport_emulator.gemini.schema import PACKAGE, TUNED_MODEL
from tuneport_emulator.ids import slugify
from tuneport_emulator.operations import RpcStatus, operation_json
from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.schema import normalize
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.wire import RPC_CODES, ApiError, bad_request, format_timestamp

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "SEED_EXAMPLES", "TunedModels"]

SECTION = "gemini"
#: Listing defaults from ListTunedModelsRequest: 10 per page, at most 1000.
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
#: What a seeded model answers when the seed carries no training data.
SEED_EXAMPLES = [{"textInput": "ping", "output": "pong"}]
_SEED_STATES = tuple(state.value for state in State)
_METADATA_TYPE = f"{PACKAGE}.CreateTunedModelMetadata"
_MODEL_TYPE = f"{PACKAGE}.TunedModel"


class TunedModels:
    """The ``tunedModels`` collection and its operations, over the shared store."""

    def __init__(self, context: EmulatorContext) -> None:
        self._context = context
        self._store = context.store
        self._clock = context.clock

    # --- records ---------------------------------------------------------------------

    def _models(self) -> dict[str, TunedModel]:
        return self._store.collection(SECTION, "tunedModels", TunedModel.from_json)

    def record(self, model_id: str) -> TunedModel:
        """The record of ``tunedModels/{model_id}``; 404 if there is none.  Hold the lock."""
        found = self._models().get(model_id)
        if found is None:
            raise ApiError("NOT_FOUND", f"Tuned model tunedModels/{model_id} does not exist.")
        return found

    def generation_inputs(self, model_id: str) -> tuple[State, list[tuple[str, str]], str]:
        """What answering needs: (state now, (input, output) examples, base model); 404 if unknown."""
        with self._store.lock:
            record = self.record(model_id)
            state = self._status(record, self._clock.now())[0]
            examples = [(e.text_input, e.output) for e in record.examples]
            return state, examples, str(record.fields["baseModel"])

    # --- create ------------------------------------------------------------------------

    def create(self, body: dict[str, Any], tuned_model_id: str | None) -> dict[str, Any]:
        """Create a tuned model from a normalized TunedModel; returns the Operation."""
        if tuned_model_id is not None:
            check_id(tuned_model_id)
        fields, examples, hyperparameters = validate_create(body)
        with self._store.lock:
            if tuned_model_id is not None and tuned_model_id in self._models():
                raise ApiError("ALREADY_EXISTS", f"Tuned model tunedModels/{tuned_model_id} already exists.")
            model_id = tuned_model_id or self._derive_id(fields.get("displayName", ""))
            record = self._new_record(model_id, fields, examples, hyperparameters, self._clock.now())
            self._models()[model_id] = record
            return self._operation(record, self._clock.now())

    def _derive_id(self, display_name: str) -> str:
        # Like the service: a slug of the display name and five random-looking
        # characters ("Sentence Translator" -> "sentence-translator-u3b7m").
        slug = slugify(display_name, 34)
        if not slug:
            slug = "model"
        elif not slug[0].isalpha():
            slug = f"model-{slug}"[:34].rstrip("-")
        while True:
            candidate = f"{slug}-{self._context.ids.token('gemini.tunedModelId', 5)}"
            if candidate not in self._models():
                return candidate

    def _new_record(
        self,
        model_id: str,
        fields: dict[str, Any],
        examples: list[dict[str, str]],
        hyperparameters: dict[str, Any],
        now: float,
    ) -> TunedModel:
        plan = training.Plan.create(
            start=now,
            examples=len(examples),
            batch_size=int(hyperparameters["batchSize"]),
            epochs=int(hyperparameters["epochCount"]),
            seed=training.loss_seed(model_id),
        )
        base = BASE_MODELS[fields["baseModel"]]
        for name in ("temperature", "topP", "topK"):
            if name not in fields and name in base:
                fields[name] = base[name]  # the tuned model inherits the base model's defaults
        stop = None
        problem = dataset_problem(examples)
        if problem is not None:
            # The service checks the examples when training begins: the job
            # fails then, with INVALID_ARGUMENT on its operation.
            stop = Stop(plan.step_time(0), RpcStatus(RPC_CODES["INVALID_ARGUMENT"], problem))
        return TunedModel(
            id=model_id,
            number=self._store.next_number("gemini.tunedModel"),
            operation_id=self._context.ids.token("gemini.operation", 12),
            fields=fields,
            hyperparameters=hyperparameters,
            # validate_create() made them: strings already, no conversion needed.
            examples=[Example(e["textInput"], e["output"]) for e in examples],
            create_time=now,
            update_time=now,
            plan=plan,
            stop=stop,
        )

    # --- read --------------------------------------------------------------------------

    def get(self, model_id: str) -> dict[str, Any]:
        """The TunedModel (normalized JSON)."""
        with self._store.lock:
            return self._view(self.record(model_id), self._clock.now())

    def list_models(self, *, size: str | None, token: str | None, filter_text: str | None) -> dict[str, Any]:
        """One page of ListTunedModelsResponse, in creation order."""
        limit = page_size(size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        terms = _filter_terms(filter_text or "")
        context = f"filter={filter_text or ''}"
        after = decode_page_token(token, context=context)
        with self._store.lock:
            now = self._clock.now()
            records = sorted(self._models().values(), key=lambda r: r.number)
            matching = [r for r in records if r.number > after and _matches(r, terms)]
            page = matching[:limit]
            result: dict[str, Any] = {"tunedModels": [self._view(r, now) for r in page]}
            if len(matching) > limit:
                result["nextPageToken"] = encode_page_token(page[-1].number, context=context)
            if not page:
                del result["tunedModels"]  # proto3 JSON leaves out empty lists
            return result

    # --- patch / delete ----------------------------------------------------------------

    def patch(self, model_id: str, body: dict[str, Any], update_mask: str | None) -> dict[str, Any]:
        """Apply ``body`` under ``update_mask`` (or every mutable field present); the TunedModel."""
        if update_mask is None or not update_mask.strip():
            paths = [name for name in MUTABLE_FIELDS if name in body]
        else:
            paths = [mask_path(p) for p in update_mask.split(",") if p.strip()]
        changes = {p: body[p] for p in paths if p in body}
        check_mutable(changes, prefix="tuned_model")
        with self._store.lock:
            record = self.record(model_id)
            for path in paths:
                if path in changes:
                    record.fields[path] = changes[path]
                else:
                    record.fields.pop(path, None)  # in the mask, absent: cleared
            now = self._clock.now()
            record.update_time = now
            return self._view(record, now)

    def delete(self, model_id: str) -> None:
        """Delete the model; a CREATING one stops tuning, and its operation goes with it."""
        with self._store.lock:
            self.record(model_id)
            del self._models()[model_id]

    # --- operations ----------------------------------------------------------------------

    def _operation_record(self, model_id: str, operation_id: str) -> TunedModel:
        record = self._models().get(model_id)
        if record is None or record.operation_id != operation_id:
            raise ApiError(
                "NOT_FOUND", f"Operation tunedModels/{model_id}/operations/{operation_id} does not exist."
            )
        return record

    def get_operation(self, model_id: str, operation_id: str) -> dict[str, Any]:
        """The creation Operation (normalized JSON)."""
        with self._store.lock:
            return self._operation(self._operation_record(model_id, operation_id), self._clock.now())

    def list_operations(self, model_id: str, *, size: str | None, token: str | None) -> dict[str, Any]:
        """ListOperationsResponse for one model: its creation operation."""
        limit = page_size(size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        after = decode_page_token(token, context=f"operations:{model_id}")
        with self._store.lock:
            record = self.record(model_id)
            operations = [record] if after < 1 else []
            page = operations[:limit]
            result: dict[str, Any] = {}
            if page:
                result["operations"] = [self._operation(r, self._clock.now()) for r in page]
            return result

    def cancel_operation(self, model_id: str, operation_id: str) -> None:
        """Cancel tuning (emulator-specific semantics, see docs/emulator.md).

        A running job stops where it is: the operation becomes done with
        error code 1 (CANCELLED) and the model FAILED; its snapshots so far
        are kept.  Cancelling a finished operation changes nothing.
        """
        with self._store.lock:
            record = self._operation_record(model_id, operation_id)
            now = self._clock.now()
            if self._status(record, now)[0] is State.CREATING:
                record.stop = Stop(now, RpcStatus(RPC_CODES["CANCELLED"], "Operation cancelled."))

    # --- seeding (admin) ---------------------------------------------------------------

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a tuned model directly in a given state (test backdoor); the TunedModel."""
        unknown = set(body) - {"tunedModel", "tunedModelId", "state", "progress", "error"}
        if unknown:
            raise bad_request(f"Unknown seed field(s): {', '.join(sorted(unknown))}.")
        raw = body.get("tunedModel") or {}
        model = normalize(raw, TUNED_MODEL, "tuned_model", keep_output_only=True)
        state_name = body.get("state", State.ACTIVE.value)
        if state_name not in _SEED_STATES:
            raise bad_request(f"state must be one of {', '.join(_SEED_STATES)}.", field="state")
        state = State(state_name)
        progress = body.get("progress", 1.0 if state is State.ACTIVE else 0.0)
        if isinstance(progress, bool) or not isinstance(progress, (int, float)) or not 0 <= progress <= 1:
            raise bad_request("progress must be a number from 0 to 1.", field="progress")
        error = _seed_error(body.get("error"), state)
        model_id = body.get("tunedModelId") or str(model.get("name", "")).removeprefix("tunedModels/") or None
        if model_id is not None:
            if not isinstance(model_id, str):
                raise bad_request("tunedModelId must be a string.", field="tunedModelId")
            check_id(model_id)
        model = {k: v for k, v in model.items() if k not in ("name", "state", "createTime", "updateTime")}
        task = dict(model.get("tuningTask") or {})
        if not (task.get("trainingData") or {}).get("examples", {}).get("examples"):
            task["trainingData"] = {"examples": {"examples": [dict(e) for e in SEED_EXAMPLES]}}
        model["tuningTask"] = task
        model.setdefault("baseModel", "models/gemini-1.5-flash-001-tuning")
        fields, examples, hyperparameters = validate_create(model)
        with self._store.lock:
            if model_id is not None and model_id in self._models():
                raise ApiError("ALREADY_EXISTS", f"Tuned model tunedModels/{model_id} already exists.")
            model_id = model_id or self._derive_id(fields.get("displayName", ""))
            now = self._clock.now()
            record = self._new_record(model_id, fields, examples, hyperparameters, now)
            _place_in_time(record, state, float(progress), error, now)
            self._models()[model_id] = record
            return self._view(record, self._clock.now())

    # --- views ---------------------------------------------------------------------------

    def _status(self, record: TunedModel, now: float) -> tuple[State, int, float]:
        """(state, completed steps, time of the last state change) at ``now``."""
        plan, stop = record.plan, record.stop
        end = plan.end_time
        if stop is not None and stop.time < end and now >= stop.time:
            return State.FAILED, plan.completed_steps(stop.time), stop.time
        if now >= end:
            return State.ACTIVE, plan.total_steps, end
        return State.CREATING, plan.completed_steps(now), record.create_time

    def _snapshots(self, record: TunedModel, steps: int) -> list[dict[str, Any]]:
        """``TuningSnapshot``s of the first ``steps`` steps (normalized)."""
        return [
            {
                "step": snapshot.step,
                "epoch": snapshot.epoch,
                "meanLoss": snapshot.mean_loss,
                "computeTime": format_timestamp(snapshot.compute_time),
            }
            for snapshot in record.plan.snapshots(steps)
        ]

    def _view(self, record: TunedModel, now: float) -> dict[str, Any]:
        state, steps, changed = self._status(record, now)
        fields = record.fields
        task: dict[str, Any] = {"startTime": format_timestamp(record.plan.start)}
        if state is State.ACTIVE:
            task["completeTime"] = format_timestamp(changed)
        snapshots = self._snapshots(record, steps)
        if snapshots:
            task["snapshots"] = snapshots
        task["hyperparameters"] = dict(record.hyperparameters)
        view: dict[str, Any] = {"name": record.name}
        view.update({k: v for k, v in fields.items() if k != "readerProjectNumbers"})
        view["state"] = state.value
        view["createTime"] = format_timestamp(record.create_time)
        view["updateTime"] = format_timestamp(max(record.update_time, changed))
        view["tuningTask"] = task
        if fields.get("readerProjectNumbers"):
            view["readerProjectNumbers"] = list(fields["readerProjectNumbers"])
        return view

    def _operation(self, record: TunedModel, now: float) -> dict[str, Any]:
        state, steps, _ = self._status(record, now)
        total = record.plan.total_steps
        metadata: dict[str, Any] = {"tunedModel": record.name, "totalSteps": total}
        if steps:  # proto3 JSON leaves out zeros and empty lists
            metadata["completedSteps"] = steps
            metadata["completedPercent"] = round(100.0 * steps / total, 4)
            metadata["snapshots"] = self._snapshots(record, steps)
        stop = record.stop
        return operation_json(
            f"{record.name}/operations/{record.operation_id}",
            metadata_type=_METADATA_TYPE,
            metadata=metadata,
            done=state is not State.CREATING,
            response_type=_MODEL_TYPE,
            response=self._view(record, now) if state is State.ACTIVE else None,
            error=stop.error.to_json() if state is State.FAILED and stop is not None else None,
        )


# --- listing and seeding helpers -------------------------------------------------------------


def _filter_terms(text: str) -> list[str] | None:
    """Search terms of a list filter; None when the filter matches nothing (readers:everyone)."""
    terms: list[str] = []
    for word in text.split():
        lowered = word.lower()
        if lowered in ("owner:me", "writers:me", "readers:me"):
            continue  # every model here belongs to the caller
        if lowered == "readers:everyone":
            return None  # the emulator has no models shared with everyone
        terms.append(lowered)
    return terms


def _matches(record: TunedModel, terms: list[str] | None) -> bool:
    if terms is None:
        return False
    fields = record.fields
    haystack = f"{fields.get('displayName', '')}\n{fields.get('description', '')}".lower()
    return all(term in haystack for term in terms)


def _seed_error(error: Any, state: State) -> RpcStatus | None:
    if error is None:
        return RpcStatus(RPC_CODES["INTERNAL"], "Tuning failed.") if state is State.FAILED else None
    if state is not State.FAILED:
        raise bad_request("error is only meaningful with state FAILED.", field="error")
    if (
        not isinstance(error, dict)
        or set(error) - {"code", "message"}
        or not isinstance(error.get("code"), int)
        or isinstance(error.get("code"), bool)
        or not 1 <= error["code"] <= 16
        or not isinstance(error.get("message", ""), str)
    ):
        raise bad_request('error must be {"code": 1..16, "message": "..."}.', field="error")
    return RpcStatus(error["code"], error.get("message", ""))


def _place_in_time(
    record: TunedModel, state: State, progress: float, error: RpcStatus | None, now: float
) -> None:
    """Move a new record's plan into the past so that it is in ``state`` at ``now``."""
    plan = record.plan
    total = plan.total_steps
    setup, step = plan.setup_seconds, plan.step_seconds
    if state is State.ACTIVE:
        elapsed = setup + total * step + 1.0  # a second past the end: safely ACTIVE
    else:
        # At most total - 1 steps done, so that the job has not ended yet.
        done = min(total - 1, math.floor(progress * total))
        if done == 0 and progress == 0:
            elapsed = setup / 2  # still setting up
        else:
            elapsed = setup + done * step + step / 2  # half-way through the next step
    start = now - elapsed
    record.plan = plan.moved_to(start)
    record.create_time = start
    record.update_time = start
    record.stop = Stop(now, error) if state is State.FAILED and error is not None else None
