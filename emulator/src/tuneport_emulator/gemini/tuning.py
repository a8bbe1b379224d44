"""Tuned models and their creation operations: the Gemini surface's state and rules.

A tuned model is stored once, as a plain-JSON record holding what the
client sent (normalized), the effective hyperparameters, the training
examples, the training plan (:mod:`tuneport_emulator.training`) and, when it
was stopped early, when and why.  Its state, progress and loss snapshots are
computed from the plan and the emulator clock on every read:

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
from tuneport_emulator.gemini.schema import PACKAGE, TUNED_MODEL
from tuneport_emulator.ids import slugify
from tuneport_emulator.operations import operation_json
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
_SEED_STATES = ("CREATING", "ACTIVE", "FAILED")
_METADATA_TYPE = f"{PACKAGE}.CreateTunedModelMetadata"
_MODEL_TYPE = f"{PACKAGE}.TunedModel"


class TunedModels:
    """The ``tunedModels`` collection and its operations, over the shared store."""

    def __init__(self, context: EmulatorContext) -> None:
        self._context = context
        self._store = context.store
        self._clock = context.clock

    # --- records ---------------------------------------------------------------------

    def _models(self) -> dict[str, dict[str, Any]]:
        section = self._store.section(SECTION)
        return section.setdefault("tunedModels", {})  # type: ignore[no-any-return]

    def record(self, model_id: str) -> dict[str, Any]:
        """The record of ``tunedModels/{model_id}``; 404 if there is none.  Hold the lock."""
        found = self._models().get(model_id)
        if found is None:
            raise ApiError("NOT_FOUND", f"Tuned model tunedModels/{model_id} does not exist.")
        return found

    def generation_inputs(self, model_id: str) -> tuple[str, list[tuple[str, str]], str]:
        """What answering needs: (state now, (input, output) examples, base model); 404 if unknown."""
        with self._store.lock:
            record = self.record(model_id)
            state = self._status(record, self._clock.now())[0]
            examples = [(e["textInput"], e["output"]) for e in record["examples"]]
            return state, examples, str(record["fields"]["baseModel"])

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
    ) -> dict[str, Any]:
        steps, per_epoch = training.total_steps(
            len(examples), hyperparameters["batchSize"], hyperparameters["epochCount"]
        )
        plan = training.make_plan(
            start=now, steps=steps, steps_per_epoch=per_epoch, seed=training.loss_seed(model_id)
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
            stop = {
                "time": training.step_time(plan, 0),
                "error": {"code": RPC_CODES["INVALID_ARGUMENT"], "message": problem},
            }
        return {
            "id": model_id,
            "number": self._store.next_number("gemini.tunedModel"),
            "operationId": self._context.ids.token("gemini.operation", 12),
            "fields": fields,
            "hyperparameters": hyperparameters,
            "examples": examples,
            "createTime": now,
            "updateTime": now,
            "plan": plan,
            "stop": stop,
        }

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
            records = sorted(self._models().values(), key=lambda r: int(r["number"]))
            matching = [r for r in records if r["number"] > after and _matches(r, terms)]
            page = matching[:limit]
            result: dict[str, Any] = {"tunedModels": [self._view(r, now) for r in page]}
            if len(matching) > limit:
                result["nextPageToken"] = encode_page_token(int(page[-1]["number"]), context=context)
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
                    record["fields"][path] = changes[path]
                else:
                    record["fields"].pop(path, None)  # in the mask, absent: cleared
            now = self._clock.now()
            record["updateTime"] = now
            return self._view(record, now)

    def delete(self, model_id: str) -> None:
        """Delete the model; a CREATING one stops tuning, and its operation goes with it."""
        with self._store.lock:
            self.record(model_id)
            del self._models()[model_id]

    # --- operations ----------------------------------------------------------------------

    def _operation_record(self, model_id: str, operation_id: str) -> dict[str, Any]:
        record = self._models().get(model_id)
        if record is None or record["operationId"] != operation_id:
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
            if self._status(record, now)[0] == "CREATING":
                record["stop"] = {
                    "time": now,
                    "error": {"code": RPC_CODES["CANCELLED"], "message": "Operation cancelled."},
                }

    # --- seeding (admin) ---------------------------------------------------------------

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a tuned model directly in a given state (test backdoor); the TunedModel."""
        unknown = set(body) - {"tunedModel", "tunedModelId", "state", "progress", "error"}
        if unknown:
            raise bad_request(f"Unknown seed field(s): {', '.join(sorted(unknown))}.")
        raw = body.get("tunedModel") or {}
        model = normalize(raw, TUNED_MODEL, "tuned_model", keep_output_only=True)
        state = body.get("state", "ACTIVE")
        if state not in _SEED_STATES:
            raise bad_request(f"state must be one of {', '.join(_SEED_STATES)}.", field="state")
        progress = body.get("progress", 1.0 if state == "ACTIVE" else 0.0)
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

    def _status(self, record: dict[str, Any], now: float) -> tuple[str, int, float]:
        """(state, completed steps, time of the last state change) at ``now``."""
        plan = record["plan"]
        stop = record.get("stop")
        end = training.end_time(plan)
        if stop is not None and stop["time"] < end and now >= stop["time"]:
            return "FAILED", training.completed_steps(plan, stop["time"]), float(stop["time"])
        if now >= end:
            return "ACTIVE", int(plan["totalSteps"]), end
        return "CREATING", training.completed_steps(plan, now), float(record["createTime"])

    def _snapshots(self, record: dict[str, Any], steps: int) -> list[dict[str, Any]]:
        snapshots = training.snapshots(record["plan"], steps)
        for snapshot in snapshots:
            snapshot["computeTime"] = format_timestamp(snapshot["computeTime"])
        return snapshots

    def _view(self, record: dict[str, Any], now: float) -> dict[str, Any]:
        state, steps, changed = self._status(record, now)
        fields = record["fields"]
        task: dict[str, Any] = {"startTime": format_timestamp(record["plan"]["start"])}
        if state == "ACTIVE":
            task["completeTime"] = format_timestamp(changed)
        snapshots = self._snapshots(record, steps)
        if snapshots:
            task["snapshots"] = snapshots
        task["hyperparameters"] = dict(record["hyperparameters"])
        view: dict[str, Any] = {"name": f"tunedModels/{record['id']}"}
        view.update({k: v for k, v in fields.items() if k != "readerProjectNumbers"})
        view["state"] = state
        view["createTime"] = format_timestamp(record["createTime"])
        view["updateTime"] = format_timestamp(max(float(record["updateTime"]), changed))
        view["tuningTask"] = task
        if fields.get("readerProjectNumbers"):
            view["readerProjectNumbers"] = list(fields["readerProjectNumbers"])
        return view

    def _operation(self, record: dict[str, Any], now: float) -> dict[str, Any]:
        state, steps, _ = self._status(record, now)
        total = int(record["plan"]["totalSteps"])
        name = f"tunedModels/{record['id']}"
        metadata: dict[str, Any] = {"tunedModel": name, "totalSteps": total}
        if steps:  # proto3 JSON leaves out zeros and empty lists
            metadata["completedSteps"] = steps
            metadata["completedPercent"] = round(100.0 * steps / total, 4)
            metadata["snapshots"] = self._snapshots(record, steps)
        stop = record.get("stop")
        return operation_json(
            f"{name}/operations/{record['operationId']}",
            metadata_type=_METADATA_TYPE,
            metadata=metadata,
            done=state != "CREATING",
            response_type=_MODEL_TYPE,
            response=self._view(record, now) if state == "ACTIVE" else None,
            error=dict(stop["error"]) if state == "FAILED" and stop is not None else None,
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


def _matches(record: dict[str, Any], terms: list[str] | None) -> bool:
    if terms is None:
        return False
    fields = record["fields"]
    haystack = f"{fields.get('displayName', '')}\n{fields.get('description', '')}".lower()
    return all(term in haystack for term in terms)


def _seed_error(error: Any, state: str) -> dict[str, Any] | None:
    if error is None:
        return {"code": RPC_CODES["INTERNAL"], "message": "Tuning failed."} if state == "FAILED" else None
    if state != "FAILED":
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
    return {"code": error["code"], "message": error.get("message", "")}


def _place_in_time(
    record: dict[str, Any], state: str, progress: float, error: dict[str, Any] | None, now: float
) -> None:
    """Move a new record's plan into the past so that it is in ``state`` at ``now``."""
    plan = record["plan"]
    total = int(plan["totalSteps"])
    setup, step = float(plan["setupSeconds"]), float(plan["stepSeconds"])
    if state == "ACTIVE":
        elapsed = setup + total * step + 1.0  # a second past the end: safely ACTIVE
    else:
        # At most total - 1 steps done, so that the job has not ended yet.
        done = min(total - 1, math.floor(progress * total))
        if done == 0 and progress == 0:
            elapsed = setup / 2  # still setting up
        else:
            elapsed = setup + done * step + step / 2  # half-way through the next step
    start = now - elapsed
    plan["start"] = start
    record["createTime"] = start
    record["updateTime"] = start
    if state == "FAILED":
        record["stop"] = {"time": now, "error": error}
    else:
        record["stop"] = None
