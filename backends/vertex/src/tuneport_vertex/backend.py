"""The vertex backend: every operation of the port on Vertex AI ``tuningJobs``.

Each operation is a sans-IO flow; bodies and parsing are in
:mod:`tuneport_vertex.wire`, dataset staging in :mod:`tuneport_vertex.staging`
and the metrics chain in :mod:`tuneport_vertex.metrics`.

There is no ``tuningJobs.delete``: ``delete`` removes what the job produced —
it undeploys and deletes the tuned endpoint and deletes the tuned model,
waiting for each long-running operation — and leaves the job record, which
Vertex keeps.  Every step tolerates "already gone", so it is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from tuneport.errors import (
    APIError,
    BadRequestError,
    ConfigError,
    FilterError,
    JobNotReady,
    NotFoundError,
    Problem,
    SpecError,
)
from tuneport.idempotency import create_once, new_request_id, server_timeout_header, settle_window
from tuneport.models import (
    DataSource,
    GenerateRequest,
    Generation,
    JobQuery,
    JobSpec,
    Metrics,
    Page,
    TunedModelRef,
    TuningJob,
    TuningMethod,
)
from tuneport.protocol import (
    Authenticator,
    BackendSettings,
    BaseBackend,
    Capabilities,
    Effect,
    ErrorDetails,
    Flow,
    HttpRequest,
    HttpResponse,
    Maturity,
    Operation,
    call,
    request,
    sleep,
    tuned_model_of,
)
from tuneport_google.auth import CredentialsAuthenticator, application_default_credentials, warn_if_shared
from tuneport_google.errors import read_google_error
from tuneport_google.proto_json import list_params
from tuneport_vertex import cleanup as staged_cleanup
from tuneport_vertex import metrics, staging, wire
from tuneport_vertex import rebase as rebasing
from tuneport_vertex.routing import Address, Router
from tuneport_vertex.settings import VertexSettings
from tuneport_vertex.wire_create import create_body
from tuneport_vertex.wire_methods import (
    METHOD_HYPERPARAMETERS,
    TUNED_MODEL,
    create_version,
    is_open_model,
    read_version,
)
from tuneport_vertex.wire_reads import JOB_ID_LABEL, base_model_of, job_from, tuned_model_ref

if TYPE_CHECKING:
    from tuneport.cleanup import CleanupReport

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
#: On a job a create returns: the duplicates it found and cancelled (see ``_keep_one``).
DUPLICATES_FIELD = "tuneportDuplicates"
log = logging.getLogger("tuneport.http")
_AUTH_HINT = (
    "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, "
    "or set credentials_file in the profile"
)
STORAGE_ENDPOINT = "https://storage.googleapis.com"
#: Polls of a long-running operation start fast and back off to this interval.
OPERATION_POLL = 2.0
OPERATION_FIRST_POLL = 0.1
OPERATION_POLLS = 300


class VertexBackend(BaseBackend):
    """Vertex AI ``tuningJobs``: supervised, preference and distillation tuning, open models.

    Jobs continue from tuned models and their checkpoints, report their
    checkpoints and evaluation runs, and the default checkpoint can be
    changed.  The API version is chosen per request (``api_version = "auto"``).
    """

    name: ClassVar[str] = "vertex"
    settings_model: ClassVar[type[BackendSettings]] = VertexSettings
    maturity: ClassVar[Maturity] = Maturity.STABLE
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation),
        # batch_size and learning_rate are for open models only: the catalog says which model takes them.
        hyperparameters=METHOD_HYPERPARAMETERS[TuningMethod.SUPERVISED],
        methods=frozenset(METHOD_HYPERPARAMETERS),
        method_hyperparameters=dict(METHOD_HYPERPARAMETERS),
        spec_fields=frozenset(
            {"tuning_mode", "output_uri", "custom_base_model", "encryption_key", "service_account"}
        ),
        continuous_tuning=True,
        checkpoints=True,
        default_checkpoint=True,
        evaluation=True,
        data_sources=frozenset({"inline", "file", "uri"}),
        validation_data=True,
        json_replies=True,  # Google's front ends answer every success in JSON
    )

    @property
    def vertex_settings(self) -> VertexSettings:
        assert isinstance(self.settings, VertexSettings)
        return self.settings

    # --- addresses ----------------------------------------------------------------------

    @property
    def router(self) -> Router:
        """Where each request goes: the host of the location in the resource's name (:mod:`.routing`)."""
        settings = self.vertex_settings
        pinned = settings.endpoint if settings.endpoint and settings.endpoint != "embedded" else None
        return Router(endpoint=pinned, endpoints=dict(settings.endpoints), emulator=settings.emulator)

    @property
    def host(self) -> str:
        """The base URL of the profile's location (creates and lists go there)."""
        return self.router.base(self.vertex_settings.location).url

    @property
    def storage(self) -> str:
        """Cloud Storage JSON API base (a declared emulator serves it on its own port)."""
        settings = self.vertex_settings
        if settings.emulator and settings.endpoint and settings.endpoint != "embedded":
            parts = urlsplit(settings.endpoint)
            return f"{parts.scheme}://{parts.netloc}"
        return STORAGE_ENDPOINT

    @property
    def parent(self) -> str:
        settings = self.vertex_settings
        if not settings.project:
            raise ConfigError(
                "the vertex backend needs a project (set project in the profile)", key="project"
            )
        return f"projects/{settings.project}/locations/{settings.location}"

    def _http(self, method: str, path: str, version: str = "v1", **options: Any) -> HttpRequest:
        """A request to *path* (a resource name, ``:verb`` included) on the host of its own location."""
        address = self.router.address(path, version)
        headers = {**address.headers, **options.pop("headers", {})}
        return HttpRequest(method, address.url, headers=headers, **options)

    def _read(self, method: str, path: str, **options: Any) -> HttpRequest:
        """A ``tuningJobs`` request: v1beta1 unless v1 is forced (detail state and progress are there)."""
        return self._http(method, path, read_version(self.vertex_settings.api_version), **options)

    def _create(self, spec: JobSpec, **options: Any) -> HttpRequest:
        version = create_version(spec, self.vertex_settings.api_version)
        return self._http("POST", f"{self.parent}/tuningJobs", version, idempotent=False, **options)

    def read_error(self, response: HttpResponse) -> ErrorDetails:
        return read_google_error(response)

    def authenticator(self) -> Authenticator | None:
        settings = self.vertex_settings
        if settings.emulator:
            return None  # a declared emulator takes requests without credentials
        if settings.credentials_file is not None:
            from google.oauth2 import service_account

            warn_if_shared(settings.credentials_file, holding="a service-account key")
            try:
                credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    str(settings.credentials_file), scopes=list(SCOPES)
                )
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot use {settings.credentials_file} as a service-account key: {exc}",
                    key="credentials_file",
                ) from None
        else:
            credentials = application_default_credentials(
                SCOPES, service="Vertex AI", hint=_AUTH_HINT, key="credentials_file"
            )
        return CredentialsAuthenticator(credentials)

    # --- create -------------------------------------------------------------------------------

    def _staging_bucket(self, source: DataSource, field: str) -> tuple[str, str] | None:
        """Where a local dataset goes (bucket, prefix); ``None`` for a ``gs://`` URI used as it is."""
        if isinstance(source, str) and source.startswith("gs://"):
            return None
        if isinstance(source, str) and "://" in source:
            raise SpecError(
                [Problem("Vertex reads datasets from gs:// URIs", field=field, rule="uri-not-allowed")]
            )
        bucket_setting = self.vertex_settings.staging_bucket
        if bucket_setting is None:
            raise SpecError(
                [
                    Problem(
                        "set staging_bucket to upload local datasets (or pass a gs:// URI)",
                        field=field,
                        rule="no-staging-bucket",
                    )
                ]
            )
        return staging.split_bucket(bucket_setting)

    def _stage(self, source: DataSource, field: str, method: TuningMethod) -> Generator[Effect, Any, str]:
        where = self._staging_bucket(source, field)
        if where is None:
            assert isinstance(source, str)
            return source
        bucket, prefix = where
        # Converting and hashing the dataset is file work: a blocking call, off the event loop.
        prepared = yield from call(staging.prepare, source, field, method)
        try:
            uri = yield from staging.upload(
                prepared,
                storage=self.storage,
                bucket=bucket,
                name=staging.object_name(prepared, prefix),
                metadata=staging.staged_metadata(self.parent),  # what cleanup recognises (.cleanup)
            )
        finally:
            yield from call(prepared.path.unlink, missing_ok=True)
        return uri

    def check_spec(self, spec: JobSpec) -> None:
        wire.check_spec(spec, api_version=self.vertex_settings.api_version)
        location_problems = _location_problems(spec, self.vertex_settings.location)
        if location_problems:
            raise SpecError(location_problems, summary="the job spec is not accepted by vertex")
        # The profile's labels go on every job too: together they leave room for the request id.
        merged = {**self.vertex_settings.labels, **spec.labels}
        if len(merged) > wire.MAX_USER_LABELS:
            problem = Problem(
                f"at most {wire.MAX_USER_LABELS} labels, the profile's and the job's together (Vertex takes "
                f"{wire.MAX_LABELS}, one is tuneport's {wire.REQUEST_ID_LABEL}), got {len(merged)}",
                field="labels",
                rule="too-many",
            )
            raise SpecError([problem], summary="the job spec is not accepted by vertex")
        self._staging_bucket(spec.training_data, "training_data")
        if spec.validation_data is not None:
            self._staging_bucket(spec.validation_data, "validation_data")

    def _labels(self, spec: JobSpec, request_id: str) -> dict[str, str]:
        return {**self.vertex_settings.labels, **spec.labels, wire.REQUEST_ID_LABEL: request_id}

    def plan_create(self, spec: JobSpec) -> list[HttpRequest]:
        """The create request, with the ``gs://`` URIs local datasets would be staged to."""
        self.check_spec(spec)
        uris: dict[str, str | None] = {"training_data": None, "validation_data": None}
        for field in uris:
            source = getattr(spec, field)
            if source is None:
                continue
            where = self._staging_bucket(source, field)
            if where is None:
                uris[field] = source
                continue
            bucket, prefix = where
            prepared = staging.prepare(source, field, spec.method)
            prepared.path.unlink(missing_ok=True)
            uris[field] = f"gs://{bucket}/{staging.object_name(prepared, prefix)}"
        body = create_body(
            spec,
            training_uri=str(uris["training_data"]),
            validation_uri=uris["validation_data"],
            labels=self._labels(spec, "<request id>"),
            api_version=self.vertex_settings.api_version,
        )
        return [self._create(spec, json=body)]

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        parent = self.parent
        self.check_spec(spec)  # before staging: an invalid spec uploads nothing
        training_uri = yield from self._stage(spec.training_data, "training_data", spec.method)
        validation_uri = None
        if spec.validation_data is not None:
            validation_uri = yield from self._stage(spec.validation_data, "validation_data", spec.method)
        request_id = new_request_id()
        body = create_body(
            spec,
            training_uri=training_uri,
            validation_uri=validation_uri,
            labels=self._labels(spec, request_id),
            api_version=self.vertex_settings.api_version,
        )
        timeout = self.settings.timeout
        # Vertex has no request-id deduplication.  The service abandons an attempt after
        # X-Server-Timeout; after an ambiguous failure the job is looked up by our request id
        # (a label) over the settle window, and the create is re-sent only when it is not there.
        return (
            yield from create_once(
                self._create(spec, json=body, headers=server_timeout_header(timeout)),
                parse=lambda resp: job_from(resp.json()),
                find=lambda: self._find_by_request_id(parent, request_id),
                settle=settle_window(timeout),
                reconcile=lambda job: self._keep_one(parent, request_id, job),
                request_id=request_id,
            )
        )

    def _jobs_by_request_id(self, parent: str, request_id: str) -> Generator[Effect, Any, list[TuningJob]]:
        """Every job carrying the request id, the one to keep first (earliest createTime, then name)."""
        flt = f'labels.{wire.REQUEST_ID_LABEL}="{request_id}"'
        resp = yield from request(
            self._read("GET", f"{parent}/tuningJobs", params={"filter": flt, "pageSize": 100})
        )
        jobs = [job_from(data) for data in resp.json().get("tuningJobs") or []]
        return sorted(jobs, key=_keep_order)

    def _find_by_request_id(self, parent: str, request_id: str) -> Generator[Effect, Any, TuningJob | None]:
        # Never an arbitrary one of several: the one _keep_one keeps (it then cancels the others).
        jobs = yield from self._jobs_by_request_id(parent, request_id)
        return jobs[0] if jobs else None

    def _keep_one(self, parent: str, request_id: str, job: TuningJob) -> Generator[Effect, Any, TuningJob]:
        """After a create sent more than once: keep one job of the request id, cancel the others.

        The one kept is the earliest (``createTime``, then name); the others are
        cancelled, best effort, and listed on the kept job's
        ``raw["tuneportDuplicates"]`` and in a warning on the ``tuneport.http`` logger.
        """
        jobs = yield from self._jobs_by_request_id(parent, request_id)
        if len(jobs) <= 1:
            return jobs[0] if jobs else job
        keep, extras = jobs[0], jobs[1:]
        report: list[dict[str, Any]] = []
        for extra in extras:
            entry: dict[str, Any] = {"id": extra.id, "name": extra.name}
            try:
                cancelled = yield from self.cancel(extra.id)
            except APIError as error:
                entry["cancelled"] = False
                entry["error"] = f"{type(error).__name__}: {error}"
            else:
                entry["cancelled"] = True
                entry["state"] = cancelled.state.value
            report.append(entry)
        log.warning(
            "create request %s made %d jobs; kept %s, cancelled %s",
            request_id,
            len(jobs),
            keep.id,
            ", ".join(f"{e['id']}{'' if e['cancelled'] else ' (cancel failed)'}" for e in report),
        )
        return keep.model_copy(update={"raw": {**keep.raw, DUPLICATES_FIELD: report}})

    # --- read ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Flow[TuningJob]:
        """The job, or :class:`NotFoundError` once ``delete`` removed its tuned model.

        Vertex keeps a job's record for good (there is no ``tuningJobs.delete``),
        so a deleted job is recognised by its tuned model being gone: a
        succeeded job costs one ``models.get`` more, which also tells its
        default checkpoint (``defaultCheckpointId``).
        """
        resp = yield from request(self._read("GET", wire.job_name(job_id, self.parent)))
        data = resp.json()
        job = job_from(data)
        if job.state.is_success and job.tuned_model:
            # The job's own version: a continued job's model is a new version of its source's.
            model = yield from request(self._http("GET", job.tuned_model, expected=frozenset({404})))
            if model.status_code == 404:
                raise _deleted(job)
            default = model.json().get("defaultCheckpointId")
            if default:
                job = job_from(data, default_checkpoint=str(default))
        return job

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        """One page of tuning jobs, ``query`` mapped to ``tuningJobs.list``'s filter (AIP-160).

        A filter the service refuses is a :class:`FilterError` naming it (its
        words in the reason).
        """
        sent = wire.list_filter(filter, query)
        params = list_params(page_size, page_token, sent)
        if wire.selects_nothing(query):
            return Page[TuningJob](items=[])
        try:
            resp = yield from request(self._read("GET", f"{self.parent}/tuningJobs", params=params))
        except BadRequestError as error:
            if sent is None or not _about_the_filter(error):
                raise
            raise FilterError(self.name, sent, error.message or str(error)) from error
        data = resp.json()
        items = yield from self._without_deleted(list(data.get("tuningJobs") or []))
        return Page[TuningJob](items=list(items), next_page_token=data.get("nextPageToken") or None)

    def _without_deleted(self, replies: Sequence[Any]) -> Generator[Effect, Any, Sequence[TuningJob]]:
        """The jobs of *replies* but those ``delete`` removed: succeeded jobs whose tuned model is gone.

        One ``models.list`` per page of jobs (more only past 1,000 tuned models
        on one page), filtered to the page's models by id; the models it lists
        also tell each job's default checkpoint.  A ``global`` job's model
        lives in a real region: that region's models are listed too.
        """
        jobs = [job_from(data) for data in replies]
        wanted = {model_id for job in jobs if (model_id := _model_id(job)) is not None}
        if not wanted:
            return jobs
        locations = {self.vertex_settings.location}
        locations.update(_location(str(job.tuned_model)) for job in jobs if _model_id(job) is not None)
        locations.discard("")
        listed: dict[str, tuple[str | None, str | None]] = {}
        for location in sorted(locations):
            parent = f"projects/{self.vertex_settings.project}/locations/{location}"
            found = yield from self._models(parent, wanted)
            listed.update(found)
        kept = []
        for reply, job in zip(replies, jobs, strict=True):
            model_id = _model_id(job)
            if model_id is None:
                kept.append(job)
                continue
            if model_id not in listed:
                continue  # deleted
            version, default = listed[model_id]
            own_version = str(job.tuned_model).partition("@")[2]
            if own_version and version is not None and own_version != version:
                # models.list shows a model at its default version; a continued job's may be another.
                model = yield from request(self._http("GET", str(job.tuned_model), expected=frozenset({404})))
                if model.status_code == 404:
                    continue
                found_default = model.json().get("defaultCheckpointId")
                default = str(found_default) if found_default else None
            kept.append(job_from(reply, default_checkpoint=default) if default else job)
        return kept

    def _models(
        self, parent: str, wanted: set[str]
    ) -> Generator[Effect, Any, dict[str, tuple[str | None, str | None]]]:
        """Model id → (version listed, its default checkpoint id) of the *wanted* models under *parent*."""
        found: dict[str, tuple[str | None, str | None]] = {}
        params: dict[str, str | int] = {
            "filter": " OR ".join(f'model="{model_id}"' for model_id in sorted(wanted)),
            "pageSize": 1000,
        }
        while True:
            data = (yield from request(self._http("GET", f"{parent}/models", params=params))).json()
            for model in data.get("models") or []:
                default, version = model.get("defaultCheckpointId"), model.get("versionId")
                found[str(model.get("name", "")).rsplit("/", 1)[-1]] = (
                    str(version) if version else None,
                    str(default) if default else None,
                )
            token = data.get("nextPageToken")
            if not token:
                return found
            params = {**params, "pageToken": str(token)}

    def cancel(self, job_id: str) -> Flow[TuningJob]:
        """Cancel the job; a job that has already finished is returned unchanged.

        Vertex answers ``:cancel`` of a finished job with 400
        FAILED_PRECONDITION: the job is then read, and returned when it is
        finished (a deleted one raises :class:`NotFoundError`, as ``get`` does).
        """
        name = wire.job_name(job_id, self.parent)
        try:
            yield from request(self._read("POST", f"{name}:cancel", json={}))
        except BadRequestError as error:
            if error.status != "FAILED_PRECONDITION":
                raise
            job = yield from self.get(job_id)
            if not job.state.is_terminal:
                raise
            return job
        job = yield from self.get(job_id)
        return job

    # --- continuous tuning and checkpoints -----------------------------------------------------

    def resolve_tuned_model(self, ref: str) -> Flow[TunedModelRef]:
        """What ``create(tuned_model=ref)`` continues from.

        *ref* is a job id or name of this backend (its tuned model, read with
        ``get``), or a tuned model's name ``projects/…/models/ID[@VERSION]``:
        the model is read for its checkpoints, and its base model comes from
        the job that made it (the ``google-vertex-llm-tuning-job-id`` label),
        else from the ``google-vertex-llm-tuning-base-model-id`` label.
        """
        if not TUNED_MODEL.fullmatch(ref):
            job = yield from self.get(ref)
            return tuned_model_of(job)
        model = (yield from request(self._http("GET", ref))).json()
        labels = model.get("labels") or {}
        job_id = labels.get(JOB_ID_LABEL) if isinstance(labels, dict) else None
        base = None
        if job_id:
            location_parent = ref.split("/models/", 1)[0]
            resp = yield from request(
                self._read("GET", wire.job_name(str(job_id), location_parent), expected=frozenset({404}))
            )
            if resp.status_code != 404:
                base = job_from(resp.json()).base_model
        return tuned_model_ref(
            model, name=ref, base_model=base or base_model_of(model), job_id=str(job_id) if job_id else None
        )

    def set_default_checkpoint(self, job_id: str, checkpoint_id: str) -> Flow[TuningJob]:
        """Make *checkpoint_id* the one the job's tuned model serves (``models.patch``); the job re-read."""
        job = yield from self.get(job_id)
        if not job.tuned_model:
            raise JobNotReady(job.id, job.state)
        yield from request(
            self._http(
                "PATCH",
                job.tuned_model,
                params={"updateMask": "defaultCheckpointId"},
                json={"defaultCheckpointId": checkpoint_id},
            )
        )
        job = yield from self.get(job_id)
        return job

    # --- delete ------------------------------------------------------------------------------------

    def delete(self, job_id: str) -> Flow[bool]:
        """Delete the job's endpoints and tuned model: ``True`` if any was there.

        The job record stays at Google; ``get`` and ``list`` read a job whose
        tuned model is gone as deleted.  A job that produced no model (failed,
        cancelled, still running) has nothing to delete: ``False``.
        """
        name = wire.job_name(job_id, self.parent)
        resp = yield from request(self._read("GET", name, expected=frozenset({404})))
        if resp.status_code == 404:
            return False
        tuned = resp.json().get("tunedModel") or {}
        endpoint, model = tuned.get("endpoint"), tuned.get("model")
        deleted = False
        for checkpoint in tuned.get("checkpoints") or []:
            if checkpoint.get("endpoint") and checkpoint["endpoint"] != endpoint:
                deleted = (yield from self._delete_endpoint(str(checkpoint["endpoint"]))) or deleted
        if endpoint:
            deleted = (yield from self._delete_endpoint(str(endpoint))) or deleted
        if model:
            deleted = (yield from self._delete_model(str(model))) or deleted
        return deleted

    def _delete_model(self, model: str) -> Generator[Effect, Any, bool]:
        """Delete the job's model version (``…/models/123@2``), or the model when it is the only one.

        A continued job's model is a new version of its source's model: deleting
        the whole model would take the other jobs' versions with it.  Vertex
        deletes the last version only with the model (``deleteVersion`` refuses
        it), and never the version holding the ``default`` alias: that alias
        first moves to the newest of the other versions (``mergeVersionAliases``).
        """
        resource, _, version = model.partition("@")
        if version:
            versions = yield from self._versions(resource)
            if versions is not None:
                if version not in versions:
                    return False  # this version is gone already
                others = sorted((v for v in versions if v != version), key=_version_order)
                if others:
                    if "default" in versions[version]:
                        yield from request(
                            self._http(
                                "POST",
                                f"{resource}@{others[-1]}:mergeVersionAliases",
                                json={"versionAliases": ["default"]},
                            )
                        )
                    return (yield from self._delete(f"{model}:deleteVersion"))
        return (yield from self._delete(resource))

    def _versions(self, resource: str) -> Generator[Effect, Any, dict[str, set[str]] | None]:
        """The version ids of model *resource* and each one's aliases (``None``: no such model)."""
        versions: dict[str, set[str]] = {}
        params: dict[str, str | int] = {"pageSize": 1000}
        while True:
            resp = yield from request(
                self._http("GET", f"{resource}:listVersions", params=params, expected=frozenset({404}))
            )
            if resp.status_code == 404:
                return None
            data = resp.json()
            for found in data.get("models") or []:
                if found.get("versionId"):
                    versions[str(found["versionId"])] = {str(a) for a in found.get("versionAliases") or []}
            token = data.get("nextPageToken")
            if not token:
                return versions
            params = {**params, "pageToken": str(token)}

    def _delete_endpoint(self, endpoint: str) -> Generator[Effect, Any, bool]:
        resp = yield from request(self._http("GET", endpoint, expected=frozenset({404})))
        if resp.status_code == 404:
            return False
        for deployed in resp.json().get("deployedModels") or []:
            undeploy = yield from request(
                self._http(
                    "POST",
                    f"{endpoint}:undeployModel",
                    json={"deployedModelId": str(deployed.get("id"))},
                    expected=frozenset({404}),
                )
            )
            if undeploy.status_code != 404:
                yield from self._wait_operation(undeploy.json())
        yield from self._delete(endpoint)
        return True

    def _delete(self, resource: str) -> Generator[Effect, Any, bool]:
        """Delete *resource* and wait for it: ``False`` if it was not there."""
        resp = yield from request(self._http("DELETE", resource, expected=frozenset({404})))
        if resp.status_code == 404:
            return False
        yield from self._wait_operation(resp.json())
        return True

    def _wait_operation(self, operation: dict[str, Any]) -> Generator[Effect, Any, None]:
        for poll in range(OPERATION_POLLS):
            if operation.get("done") or not operation.get("name"):
                error = operation.get("error")
                if isinstance(error, dict) and error.get("code") not in (None, 0, 5):  # 5: NOT_FOUND is done
                    raise APIError(f"{operation.get('name')}: {error.get('message', 'operation failed')}")
                return
            yield from sleep(min(OPERATION_POLL, OPERATION_FIRST_POLL * 2**poll))
            resp = yield from request(self._http("GET", str(operation["name"])))
            operation = resp.json()
        raise APIError(f"{operation.get('name')} did not finish after {OPERATION_POLLS} polls")

    # --- cleanup of what tuneport staged or left (tuneport_vertex.cleanup) ---------------------------

    def delete_staged(self, job_id: str) -> Flow[CleanupReport]:
        """Remove the datasets tuneport staged for the job that no other (not deleted) job uses."""
        return (yield from staged_cleanup.delete_staged(self, job_id))

    def cleanup(self, cutoff: dt.datetime, apply: bool) -> Flow[CleanupReport]:
        """Staged datasets older than *cutoff* no live job uses, and leftover endpoints (dry: no *apply*)."""
        return (yield from staged_cleanup.cleanup(self, cutoff, apply))

    # --- generate and metrics -----------------------------------------------------------------------

    def generate(self, target: str, request_: GenerateRequest) -> Flow[Generation]:
        body = wire.generate_body(request_)  # checked before any request
        job: TuningJob | None = None
        if "/endpoints/" in target:
            endpoint = wire.endpoint_name(target)  # an endpoint or a checkpoint's endpoint, given directly
        else:
            resp = yield from request(self._read("GET", wire.job_name(target, self.parent)))
            job = job_from(resp.json())
            if not job.endpoint:
                raise JobNotReady(job.id, job.state)
            endpoint = job.endpoint
        try:
            resp = yield from request(self._http("POST", f"{endpoint}:generateContent", json=body))
        except NotFoundError as error:
            if job is None:
                raise
            # The job's record outlives its endpoint: a deleted job, said in the job's terms.
            raise _deleted(job) from error
        return wire.generation_from(resp.json())

    def _metrics_address(self, resource: str) -> Address:
        return self.router.address(resource, "v1")

    def metrics(self, job_id: str) -> Flow[Metrics]:
        job = yield from self.get(job_id)  # a deleted job's metrics are gone with it, as on gemini
        result = yield from metrics.collect(job.raw, address=self._metrics_address, job_id=job.id)
        return result

    # --- moving to a new base (tuneport_vertex.rebase) -----------------------------------------

    def spec_of(self, job_id: str) -> Flow[JobSpec]:
        """The spec *job_id* was created from, as Vertex keeps it (its datasets' ``gs://`` URIs)."""
        return rebasing.spec_of(self, job_id)

    def rebase(self, job_id: str, base_model: str, overrides: Mapping[str, Any]) -> Flow[TuningJob]:
        """Re-tune *job_id*'s tuned model on *base_model* (``tuningJobs:rebaseTunedModel``); the new job."""
        return rebasing.rebase(self, job_id, base_model, overrides)


def _about_the_filter(error: BadRequestError) -> bool:
    """Whether a 400 on a list names its ``filter`` (a field violation, or the message)."""
    body = error.body if isinstance(error.body, dict) else {}
    for detail in (body.get("error") or {}).get("details") or ():
        for violation in (detail.get("fieldViolations") or ()) if isinstance(detail, dict) else ():
            if isinstance(violation, dict) and violation.get("field") == "filter":
                return True
    return "filter" in str(error.message or "").lower()


def _model_id(job: TuningJob) -> str | None:
    """The id of a succeeded job's tuned model (``…/models/123@1`` → ``123``); ``None`` if it has none."""
    if not (job.state.is_success and job.tuned_model):
        return None
    return _model_resource(job.tuned_model).rsplit("/", 1)[-1]


#: "Include the evaluationConfig to automatically run an evaluation … available in the
#: us-central1 region" (Google's supervised-tuning page).
EVALUATION_LOCATION = "us-central1"


def _location_problems(spec: JobSpec, location: str) -> list[Problem]:
    """What the job's location does not offer: Gemini, evaluation outside us-central1 or CMEK on ``global``.

    The catalog's regions of the model and method are checked by the
    pre-flight (``entry.regions_of``); these rules hold whatever the catalog says.
    """
    problems = []
    if location == "global" and not (is_open_model(spec.base_model) or spec.custom_base_model):
        # "global is rejected for Gemini" (open-model tuning page; the emulator answers the same).
        problems.append(
            Problem(
                f"Vertex tunes only open models on 'global', not {spec.base_model}: set location to a "
                "region (e.g. 'us-central1') or a multi-region ('us', 'eu')",
                field="location",
                rule="location-not-supported",
            )
        )
    if spec.evaluation is not None and location != EVALUATION_LOCATION:
        problems.append(
            Problem(
                f"Vertex evaluates tuned models in {EVALUATION_LOCATION} only, not in '{location}'",
                field="evaluation",
                rule="location-not-supported",
            )
        )
    if location == "global":
        # CMEK on global is FAILED_PRECONDITION (google/skills agent-platform-tuning models.md).
        field = "encryption_key" if spec.encryption_key else "extras.encryption_spec"
        if spec.encryption_key or spec.extras.get("encryption_spec"):
            problems.append(
                Problem(
                    "Vertex refuses a customer-managed encryption key on 'global': tune in a region",
                    field=field,
                    rule="location-not-supported",
                )
            )
    return problems


def _location(resource: str) -> str:
    """The location of a resource name (``projects/P/locations/L/…`` → ``L``)."""
    parts = resource.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "locations" else ""


def _version_order(version: str) -> tuple[int, str]:
    """Version ids are numbers Vertex counts up; order them as numbers."""
    return (int(version), version) if version.isdigit() else (0, version)


def _model_resource(model: str) -> str:
    """A tuned model's resource name without its version (``…/models/123@1`` → ``…/models/123``)."""
    return model.split("@", 1)[0]


def _deleted(job: TuningJob) -> NotFoundError:
    """The error of a job whose tuned model ``delete`` removed (Vertex keeps the job's record)."""
    return NotFoundError(
        f"tuning job {job.id} was deleted: its tuned model {job.tuned_model} is gone "
        "(Vertex keeps the job's record; tuneport reads it as deleted)",
        status_code=404,
        status="NOT_FOUND",
    )


def _keep_order(job: TuningJob) -> tuple[bool, float, str]:
    # The earliest createTime first, ties by name; a job without createTime sorts last.
    created = job.create_time.timestamp() if job.create_time is not None else 0.0
    return (job.create_time is None, created, job.name or job.id)
