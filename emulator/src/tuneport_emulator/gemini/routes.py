"""The Gemini API's REST routes (``/v1beta`` and ``/v1``) over :class:`TunedModels`.

v1beta serves the whole ``tunedModels`` resource; v1 serves only what
Google's v1 protos declare for it: ``:generateContent``,
``:streamGenerateContent`` and the operations mixin (get, list and cancel).
Handlers read the body through the schema, call the service, and write the
reply through the schema (honouring ``$alt=json;enum-encoding=int``).
"""

from __future__ import annotations

import json
from typing import Any

from tuneport_emulator.gemini.base_models import BASE_MODELS
from tuneport_emulator.gemini.generation import generate, stream_chunks
from tuneport_emulator.gemini.schema import (
    GENERATE_CONTENT_REQUEST,
    GENERATE_CONTENT_RESPONSE,
    LIST_MODELS_RESPONSE,
    LIST_TUNED_MODELS_RESPONSE,
    MODEL,
    TUNED_MODEL,
)
from tuneport_emulator.gemini.tuning import TunedModels
from tuneport_emulator.operations import CANCEL_OPERATION_REQUEST, LIST_OPERATIONS_RESPONSE, render_operation
from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.routing import Request, Response, Router
from tuneport_emulator.schema import Message, normalize, render
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.wire import ApiError, bad_request

__all__ = ["register"]

_PAGING = ("pageSize", "pageToken")


def _alt_format(request: Request, *, sse: bool = False) -> str:
    """The reply format asked by ``$alt``: ``json`` (or ``sse`` where streaming); 400 otherwise."""
    fmt = request.alt.split(";", 1)[0].strip().lower() or "json"
    if fmt == "json" or (sse and fmt == "sse"):
        return fmt
    raise bad_request(f"Invalid value for the alt system parameter: '{fmt}'.", field="$alt")


def _reply(request: Request, value: dict[str, Any], message: Message) -> Response:
    _alt_format(request)
    return Response(render(value, message, enum_int=request.enum_int))


def _read(request: Request, message: Message, root: str) -> dict[str, Any]:
    body = normalize(request.json(), message, root)
    request.log_body = body  # the request log shows the body as the server understood it
    return body


def register(router: Router, context: EmulatorContext) -> None:
    """Add the Gemini API routes to ``router``."""
    models = TunedModels(context)
    auth = context.api_key_auth

    # --- tunedModels (v1beta) ----------------------------------------------------------

    def create(request: Request) -> Response:
        body = _read(request, TUNED_MODEL, "tuned_model")
        operation = models.create(body, request.param("tunedModelId"))
        _alt_format(request)
        return Response(render_operation(operation, enum_int=request.enum_int))

    def list_models(request: Request) -> Response:
        page = models.list_models(
            size=request.param("pageSize"),
            token=request.param("pageToken"),
            filter_text=request.param("filter"),
        )
        return _reply(request, page, LIST_TUNED_MODELS_RESPONSE)

    def get(request: Request) -> Response:
        return _reply(request, models.get(request.params["model"]), TUNED_MODEL)

    def patch(request: Request) -> Response:
        body = _read(request, TUNED_MODEL, "tuned_model")
        updated = models.patch(request.params["model"], body, request.param("updateMask"))
        return _reply(request, updated, TUNED_MODEL)

    def delete(request: Request) -> Response:
        models.delete(request.params["model"])
        _alt_format(request)
        return Response({})

    base = "/v1beta/tunedModels"
    router.add("POST", base, create, name="gemini.tunedModels.create", query=["tunedModelId"], auth=auth)
    router.add(
        "GET", base, list_models, name="gemini.tunedModels.list", query=[*_PAGING, "filter"], auth=auth
    )
    router.add("GET", base + "/{model}", get, name="gemini.tunedModels.get", auth=auth)
    router.add(
        "PATCH", base + "/{model}", patch, name="gemini.tunedModels.patch", query=["updateMask"], auth=auth
    )
    router.add("DELETE", base + "/{model}", delete, name="gemini.tunedModels.delete", auth=auth)

    # --- generateContent (v1beta and v1) -------------------------------------------------

    def generate_content(request: Request) -> Response:
        body = _read(request, GENERATE_CONTENT_REQUEST, "")
        answer = generate(models, context.ids, request.params["model"], body)
        return _reply(request, answer, GENERATE_CONTENT_RESPONSE)

    def stream_generate_content(request: Request) -> Response:
        body = _read(request, GENERATE_CONTENT_REQUEST, "")
        fmt = _alt_format(request, sse=True)
        answer = generate(models, context.ids, request.params["model"], body)
        chunks = [
            render(c, GENERATE_CONTENT_RESPONSE, enum_int=request.enum_int) for c in stream_chunks(answer)
        ]
        if fmt == "sse":
            events = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n" for c in chunks)
            return Response(events.encode("utf-8"), content_type="text/event-stream")
        return Response(chunks)

    def base_model_generate(request: Request) -> Response:
        # The historical tunable models are retired: the service no longer answers
        # on them, and a tuned model is not reachable under models/.
        version = request.path.split("/", 2)[1]
        raise ApiError(
            "NOT_FOUND",
            f"models/{request.params['model']} is not found for API version {version}, or is not "
            "supported for generateContent. Call ListModels to see the list of available models "
            "and their supported methods.",
        )

    for version in ("v1beta", "v1"):
        prefix = f"/{version}"
        router.add(
            "POST", prefix + "/tunedModels/{model}:generateContent", generate_content,
            name=f"gemini.{version}.tunedModels.generateContent", auth=auth,
        )  # fmt: skip
        router.add(
            "POST", prefix + "/tunedModels/{model}:streamGenerateContent", stream_generate_content,
            name=f"gemini.{version}.tunedModels.streamGenerateContent", auth=auth,
        )  # fmt: skip
        for method in ("generateContent", "streamGenerateContent"):
            router.add(
                "POST", prefix + "/models/{model}:" + method, base_model_generate,
                name=f"gemini.{version}.models.{method}", auth=auth,
            )  # fmt: skip

    # --- operations (v1beta and v1; cancel only in v1) --------------------------------

    def get_operation(request: Request) -> Response:
        operation = models.get_operation(request.params["model"], request.params["operation"])
        _alt_format(request)
        return Response(render_operation(operation, enum_int=request.enum_int))

    def list_operations(request: Request) -> Response:
        page = models.list_operations(
            request.params["model"], size=request.param("pageSize"), token=request.param("pageToken")
        )
        return _reply(request, page, LIST_OPERATIONS_RESPONSE)

    def cancel_operation(request: Request) -> Response:
        _read(request, CANCEL_OPERATION_REQUEST, "")
        models.cancel_operation(request.params["model"], request.params["operation"])
        _alt_format(request)
        return Response({})

    for version in ("v1beta", "v1"):
        prefix = f"/{version}/tunedModels/{{model}}/operations"
        router.add(
            "GET", prefix + "/{operation}", get_operation, name=f"gemini.{version}.operations.get", auth=auth
        )
        router.add(
            "GET", prefix, list_operations, name=f"gemini.{version}.operations.list",
            query=[*_PAGING, "filter"], auth=auth,
        )  # fmt: skip
    router.add(
        "POST", "/v1/tunedModels/{model}/operations/{operation}:cancel", cancel_operation,
        name="gemini.v1.operations.cancel", auth=auth,
    )  # fmt: skip

    # --- base models (v1beta and v1) ----------------------------------------------------

    def get_base_model(request: Request) -> Response:
        name = f"models/{request.params['model']}"
        model = BASE_MODELS.get(name)
        if model is None:
            raise ApiError("NOT_FOUND", f"Model {name} is not found.")
        return _reply(request, model, MODEL)

    def list_base_models(request: Request) -> Response:
        limit = page_size(request.param("pageSize"), default=50, maximum=1000)
        after = decode_page_token(request.param("pageToken"), context="models")
        listed = list(BASE_MODELS.values())[after:]
        page: dict[str, Any] = {"models": listed[:limit]}
        if len(listed) > limit:
            page["nextPageToken"] = encode_page_token(after + limit, context="models")
        return _reply(request, page, LIST_MODELS_RESPONSE)

    for version in ("v1beta", "v1"):
        router.add(
            "GET",
            f"/{version}/models/{{model}}",
            get_base_model,
            name=f"gemini.{version}.models.get",
            auth=auth,
        )
        router.add(
            "GET", f"/{version}/models", list_base_models, name=f"gemini.{version}.models.list",
            query=_PAGING, auth=auth,
        )  # fmt: skip

    # --- admin: seeding -------------------------------------------------------------------

    def seed(request: Request) -> Response:
        return _reply(request, models.seed(request.json()), TUNED_MODEL)

    router.add("POST", "/_emulator/gemini/tunedModels:seed", seed, name="admin.gemini.seed", log=False)
