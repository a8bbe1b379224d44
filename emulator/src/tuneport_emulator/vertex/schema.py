"""The ``google.cloud.aiplatform.v1`` and ``v1beta1`` messages the Vertex surface reads and writes.

Field names, types, oneofs and enum numbers follow the aiplatform discovery
documents (revision 20261106) and Google's protos; a test checks the request
messages against the descriptors of the ``google-cloud-aiplatform`` package
field by field.  Both versions are declared by one function: v1beta1 is v1
plus the fields listed where ``beta`` is tested.  Messages the emulator
never looks inside (tools, evaluation configs, deployment resources…) are
free-form ``json``.

:func:`prune` cuts a normalized view down to what one version's message
declares, so a job created on v1beta1 reads back on v1 without the
v1beta1-only fields (``tuningJobState``, ``batchSize``…).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuneport_emulator import operations as _operations
from tuneport_emulator.schema import Message, Schema, lookup_message

__all__ = ["VERSIONS", "VertexMessages", "messages", "prune"]

assert _operations.STATUS  # declares google.rpc.Status, which TuningJob.error refers to

VERSIONS = ("v1", "v1beta1")

_JOB_STATES = [
    "JOB_STATE_UNSPECIFIED", "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING",
    "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED",
    "JOB_STATE_PAUSED", "JOB_STATE_EXPIRED", "JOB_STATE_UPDATING", "JOB_STATE_PARTIALLY_SUCCEEDED",
]  # fmt: skip
#: Proto tags are not sizes: FOUR is 2, SIXTEEN is 4, and TWO (added later) is 6.
ADAPTER_SIZE_TAGS = {
    "ADAPTER_SIZE_UNSPECIFIED": 0, "ADAPTER_SIZE_ONE": 1, "ADAPTER_SIZE_FOUR": 2, "ADAPTER_SIZE_EIGHT": 3,
    "ADAPTER_SIZE_SIXTEEN": 4, "ADAPTER_SIZE_THIRTY_TWO": 5, "ADAPTER_SIZE_TWO": 6,
}  # fmt: skip
_TUNING_JOB_STATES = [
    "TUNING_JOB_STATE_UNSPECIFIED", "TUNING_JOB_STATE_WAITING_FOR_QUOTA",
    "TUNING_JOB_STATE_PROCESSING_DATASET",
    "TUNING_JOB_STATE_WAITING_FOR_CAPACITY", "TUNING_JOB_STATE_TUNING", "TUNING_JOB_STATE_POST_PROCESSING",
]  # fmt: skip
_FINISH_REASONS = [
    "FINISH_REASON_UNSPECIFIED", "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "OTHER", "BLOCKLIST",
    "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL", "MODEL_ARMOR",
]  # fmt: skip
_HARM_CATEGORIES = [
    "HARM_CATEGORY_UNSPECIFIED", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_JAILBREAK",
]  # fmt: skip
_THRESHOLDS = [
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH",
    "BLOCK_NONE", "OFF",
]  # fmt: skip
_TRAFFIC_TYPES = {
    "TRAFFIC_TYPE_UNSPECIFIED": 0, "ON_DEMAND": 1, "PROVISIONED_THROUGHPUT": 2, "ON_DEMAND_PRIORITY": 3,
    "ON_DEMAND_FLEX": 4,
}  # fmt: skip


@dataclass(frozen=True)
class VertexMessages:
    """The messages of one API version that routes read or write."""

    package: str
    tuning_job: Message
    list_tuning_jobs_response: Message
    cancel_tuning_job_request: Message
    generate_content_request: Message
    generate_content_response: Message
    endpoint: Message
    model: Message
    undeploy_model_request: Message
    context: Message
    list_contexts_response: Message
    tensorboard_run: Message
    list_tensorboard_runs_response: Message
    tensorboard_time_series: Message
    list_tensorboard_time_series_response: Message
    export_request: Message
    export_response: Message

    def type_name(self, short: str) -> str:
        """The full proto name of a message of this version (for ``@type``)."""
        return f"{self.package}.{short}"


def _only(beta: bool, *specs: str) -> tuple[str, ...]:
    return specs if beta else ()


def _declare(package: str, *, beta: bool) -> VertexMessages:
    s = Schema(package)
    b = beta

    # --- tuning jobs ---------------------------------------------------------------------
    s.enum("JobState", _JOB_STATES)
    s.enum("SupervisedHyperParameters.AdapterSize", ADAPTER_SIZE_TAGS)
    if b:
        s.enum(
            "SupervisedTuningSpec.TuningMode",
            ["TUNING_MODE_UNSPECIFIED", "TUNING_MODE_FULL", "TUNING_MODE_PEFT_ADAPTER"],
        )
        s.enum("TuningJobState", _TUNING_JOB_STATES)
    s.message("EncryptionSpec", "kmsKeyName string")
    _declare_evaluation(s)
    s.message(
        "SupervisedHyperParameters",
        "epochCount int64",
        "learningRateMultiplier double",
        "adapterSize SupervisedHyperParameters.AdapterSize",
        *_only(b, "learningRate double", "batchSize int64"),
    )
    s.message(
        "SupervisedTuningSpec",
        "trainingDatasetUri string",
        "validationDatasetUri string",
        "hyperParameters SupervisedHyperParameters",
        "exportLastCheckpointOnly bool",
        "evaluationConfig EvaluationConfig",
        *_only(b, "tuningMode SupervisedTuningSpec.TuningMode"),
    )
    _declare_methods(s, beta=b)
    s.message("PreTunedModel", "tunedModelName string", "checkpointId string", "baseModel string ro")
    s.message("TunedModelCheckpoint", "checkpointId string", "epoch int64", "step int64", "endpoint string")
    s.message("TunedModel", "model string ro", "endpoint string ro", "checkpoints TunedModelCheckpoint[] ro")
    s.message(
        "SupervisedTuningDatasetDistribution.DatasetBucket",
        "count double ro",
        "left double ro",
        "right double ro",
    )
    s.message(
        "SupervisedTuningDatasetDistribution",
        "sum int64 ro", "billableSum int64 ro", "min double ro", "max double ro", "mean double ro",
        "median double ro", "p5 double ro", "p95 double ro",
        "buckets SupervisedTuningDatasetDistribution.DatasetBucket[] ro",
    )  # fmt: skip
    _declare_content(s, beta=b)
    s.message(
        "SupervisedTuningDataStats",
        "tuningDatasetExampleCount int64 ro", "totalTuningCharacterCount int64 ro",
        "totalBillableCharacterCount int64 ro", "totalBillableTokenCount int64 ro",
        "tuningStepCount int64 ro",
        "userInputTokenDistribution SupervisedTuningDatasetDistribution ro",
        "userOutputTokenDistribution SupervisedTuningDatasetDistribution ro",
        "userMessagePerExampleDistribution SupervisedTuningDatasetDistribution ro",
        "userDatasetExamples Content[] ro", "totalTruncatedExampleCount int64 ro",
        "truncatedExampleIndices int64[] ro", "droppedExampleReasons string[] ro",
    )  # fmt: skip
    s.message(
        "TuningDataStats",
        "supervisedTuningDataStats SupervisedTuningDataStats oneof=tuning_data_stats",
        "preferenceOptimizationDataStats PreferenceOptimizationDataStats ro oneof=tuning_data_stats",
        *_only(
            b,
            "distillationDataStats DistillationDataStats ro oneof=tuning_data_stats",
            "reinforcementTuningDataStats json ro oneof=tuning_data_stats",
        ),
    )
    if b:
        s.message("TuningJobMetadata", "completedEpochCount int64 ro", "completedStepCount int64 ro")
    tuning_job = s.message(
        "TuningJob",
        "baseModel string oneof=source_model",
        "preTunedModel PreTunedModel oneof=source_model",
        "supervisedTuningSpec SupervisedTuningSpec oneof=tuning_spec",
        "preferenceOptimizationSpec PreferenceOptimizationSpec oneof=tuning_spec",
        *_only(
            b,
            "distillationSpec DistillationSpec oneof=tuning_spec",
            "partnerModelTuningSpec json oneof=tuning_spec",
            "veoTuningSpec json oneof=tuning_spec",
            "veoLoraTuningSpec json oneof=tuning_spec",
            "fullFineTuningSpec FullFineTuningSpec oneof=tuning_spec",
            "reinforcementTuningSpec json oneof=tuning_spec",
            "customBaseModel string",
            "outputUri string",
            "pipelineJob string ro",
            "tuningJobState TuningJobState ro",
            "tuningJobMetadata TuningJobMetadata ro",
            "satisfiesPzs bool ro",
            "satisfiesPzi bool ro",
        ),
        "name string ro",
        "tunedModelDisplayName string",
        "description string",
        "state JobState ro",
        "createTime timestamp ro",
        "startTime timestamp ro",
        "endTime timestamp ro",
        "updateTime timestamp ro",
        "error google.rpc.Status ro",
        "labels json",
        "experiment string ro",
        "tunedModel TunedModel ro",
        "tuningDataStats TuningDataStats ro",
        "encryptionSpec EncryptionSpec",
        "serviceAccount string",
        "evaluateDatasetRuns json[] ro",
        "gcsMetricsUri string ro",
    )
    list_jobs = s.message("ListTuningJobsResponse", "tuningJobs TuningJob[]", "nextPageToken string")
    cancel = s.message("CancelTuningJobRequest", "name string")

    # --- endpoints, models and their operations --------------------------------------------
    s.message(
        "DeployedModel",
        "dedicatedResources json oneof=prediction_resources",
        "automaticResources json oneof=prediction_resources",
        "sharedResources string oneof=prediction_resources",
        *_only(b, "fullFineTunedResources json oneof=prediction_resources"),
        "id string", "model string", "modelVersionId string ro", "displayName string",
        "createTime timestamp ro", "explanationSpec json",
        "disableExplanations bool", "serviceAccount string",
        *_only(b, "enableContainerLogging bool", "rolloutOptions json"),
        "disableContainerLogging bool", "enableAccessLogging bool", "privateEndpoints json ro",
        "fasterDeploymentConfig json", "status json ro", "systemLabels json", "checkpointId string",
        "speculativeDecodingSpec json", "gdcConnectedModel string",
    )  # fmt: skip
    endpoint = s.message(
        "Endpoint",
        "name string", "displayName string", "description string", "deployedModels DeployedModel[] ro",
        "trafficSplit json", "etag string", "labels json",
        "createTime timestamp ro", "updateTime timestamp ro",
        "encryptionSpec EncryptionSpec", "network string", "enablePrivateServiceConnect bool",
        "privateServiceConnectConfig json", "modelDeploymentMonitoringJob string ro",
        "predictRequestResponseLoggingConfig json", "dedicatedEndpointEnabled bool",
        "dedicatedEndpointDns string ro", "clientConnectionConfig json", "satisfiesPzs bool ro",
        "satisfiesPzi bool ro", "genAiAdvancedFeaturesConfig json", "privateModelServerEnabled bool",
        "gdcConfig json", *_only(b, "publisherModelConfig json"),
    )  # fmt: skip
    s.message("DeployedModelRef", "endpoint string", "deployedModelId string", "checkpointId string")
    s.message("Checkpoint", "checkpointId string", "epoch int64", "step int64")
    model = s.message(
        "Model",
        "name string", "versionId string ro", "versionAliases string[]", "versionCreateTime timestamp ro",
        "versionUpdateTime timestamp ro", "displayName string", "description string",
        "versionDescription string", "defaultCheckpointId string", "labels json",
        "createTime timestamp ro", "updateTime timestamp ro", "deployedModels DeployedModelRef[] ro",
        "etag string", "encryptionSpec EncryptionSpec", "metadata json", "metadataSchemaUri string",
        "artifactUri string", "baseModelSource json", "checkpoints Checkpoint[] ro",
    )  # fmt: skip
    undeploy = s.message(
        "UndeployModelRequest", "endpoint string", "deployedModelId string", "trafficSplit json"
    )
    s.message("UndeployModelResponse")
    s.message(
        "GenericOperationMetadata",
        "partialFailures google.rpc.Status[] ro",
        "createTime timestamp ro",
        "updateTime timestamp ro",
    )
    s.message("UndeployModelOperationMetadata", "genericMetadata GenericOperationMetadata")
    s.message("DeleteOperationMetadata", "genericMetadata GenericOperationMetadata")

    # --- the metrics path: metadata contexts and TensorBoard ---------------------------------
    context = s.message(
        "Context",
        "name string", "displayName string", "etag string", "labels json", "createTime timestamp ro",
        "updateTime timestamp ro", "parentContexts string[] ro", "schemaTitle string", "schemaVersion string",
        "metadata json", "description string",
    )  # fmt: skip
    list_contexts = s.message("ListContextsResponse", "contexts Context[]", "nextPageToken string")
    run = s.message(
        "TensorboardRun",
        "name string ro", "displayName string", "description string", "createTime timestamp ro",
        "updateTime timestamp ro", "labels json", "etag string",
    )  # fmt: skip
    list_runs = s.message(
        "ListTensorboardRunsResponse", "tensorboardRuns TensorboardRun[]", "nextPageToken string"
    )
    s.enum("TensorboardTimeSeries.ValueType", ["VALUE_TYPE_UNSPECIFIED", "SCALAR", "TENSOR", "BLOB_SEQUENCE"])
    s.message(
        "TensorboardTimeSeries.Metadata",
        "maxStep int64 ro",
        "maxWallTime timestamp ro",
        "maxBlobSequenceLength int64 ro",
    )
    time_series = s.message(
        "TensorboardTimeSeries",
        "name string ro", "displayName string", "description string",
        "valueType TensorboardTimeSeries.ValueType", "createTime timestamp ro", "updateTime timestamp ro",
        "etag string", "pluginName string", "pluginData bytes", "metadata TensorboardTimeSeries.Metadata ro",
    )  # fmt: skip
    list_time_series = s.message(
        "ListTensorboardTimeSeriesResponse",
        "tensorboardTimeSeries TensorboardTimeSeries[]",
        "nextPageToken string",
    )
    export_request = s.message(
        "ExportTensorboardTimeSeriesDataRequest",
        "tensorboardTimeSeries string", "filter string", "pageSize int32",
        "pageToken string", "orderBy string",
    )  # fmt: skip
    s.message("Scalar", "value double")
    s.message(
        "TimeSeriesDataPoint",
        "scalar Scalar oneof=value", "tensor json oneof=value", "blobs json oneof=value",
        "wallTime timestamp", "step int64",
    )  # fmt: skip
    export_response = s.message(
        "ExportTensorboardTimeSeriesDataResponse",
        "timeSeriesDataPoints TimeSeriesDataPoint[]",
        "nextPageToken string",
    )

    # --- generateContent ---------------------------------------------------------------------
    generate_request = s.message(
        "GenerateContentRequest",
        "model string", "contents Content[]", "systemInstruction Content", "cachedContent string",
        "tools json[]", "toolConfig json", "labels json", "safetySettings SafetySetting[]",
        "modelArmorConfig json", "generationConfig GenerationConfig", "continuationToken bytes",
        "outputConfig json",
    )  # fmt: skip
    generate_response = s.message(
        "GenerateContentResponse",
        "candidates Candidate[] ro", "modelVersion string ro",
        "createTime timestamp ro", "responseId string ro",
        "promptFeedback json ro", "usageMetadata GenerateContentResponse.UsageMetadata",
    )  # fmt: skip
    s.check_complete()
    return VertexMessages(
        package=package,
        tuning_job=tuning_job,
        list_tuning_jobs_response=list_jobs,
        cancel_tuning_job_request=cancel,
        generate_content_request=generate_request,
        generate_content_response=generate_response,
        endpoint=endpoint,
        model=model,
        undeploy_model_request=undeploy,
        context=context,
        list_contexts_response=list_contexts,
        tensorboard_run=run,
        list_tensorboard_runs_response=list_runs,
        tensorboard_time_series=time_series,
        list_tensorboard_time_series_response=list_time_series,
        export_request=export_request,
        export_response=export_response,
    )


def _declare_content(s: Schema, *, beta: bool) -> None:
    """Content and the rest of GenerateContent's request and response messages."""
    s.message("Blob", "mimeType string", "data bytes", "displayName string")
    s.message("FileData", "mimeType string", "fileUri string", "displayName string")
    s.message("VideoMetadata", "startOffset duration", "endOffset duration", "fps double")
    s.message(
        "Part",
        "text string oneof=data", "inlineData Blob oneof=data", "fileData FileData oneof=data",
        "functionCall json oneof=data", "functionResponse json oneof=data", "executableCode json oneof=data",
        "codeExecutionResult json oneof=data", "videoMetadata VideoMetadata oneof=metadata", "thought bool",
        "thoughtSignature bytes", "mediaResolution json", "audioTranscription json", "speechMetadata json",
        *_only(beta, "mediaProcessing json"),
    )  # fmt: skip
    s.message("Content", "role string", "parts Part[]")
    s.enum("HarmCategory", _HARM_CATEGORIES)
    s.enum("SafetySetting.HarmBlockThreshold", _THRESHOLDS)
    s.enum("SafetySetting.HarmBlockMethod", ["HARM_BLOCK_METHOD_UNSPECIFIED", "SEVERITY", "PROBABILITY"])
    s.message(
        "SafetySetting",
        "category HarmCategory",
        "threshold SafetySetting.HarmBlockThreshold",
        "method SafetySetting.HarmBlockMethod",
    )
    s.enum("GenerationConfig.Modality", ["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"])
    s.enum(
        "GenerationConfig.MediaResolution",
        [
            "MEDIA_RESOLUTION_UNSPECIFIED",
            "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM",
            "MEDIA_RESOLUTION_HIGH",
        ],
    )
    s.message(
        "GenerationConfig",
        "temperature float", "topP float", "topK float", "candidateCount int32", "maxOutputTokens int32",
        "stopSequences string[]", "responseLogprobs bool", "logprobs int32", "presencePenalty float",
        "frequencyPenalty float", "seed int32", "responseMimeType string", "responseSchema json",
        "responseJsonSchema json", "routingConfig json", "audioTimestamp bool",
        "responseModalities GenerationConfig.Modality[]", "mediaResolution GenerationConfig.MediaResolution",
        "speechConfig json", "thinkingConfig json", "imageConfig json", "audioTranscriptionConfig json",
        "enableAffectiveDialog bool", "responseFormat json[]", "translationConfig json",
        *_only(beta, "modelConfig json"),
    )  # fmt: skip
    s.enum("Candidate.FinishReason", _FINISH_REASONS)
    s.message(
        "Candidate",
        "index int32 ro", "content Content ro", "avgLogprobs double ro", "logprobsResult json ro",
        "finishReason Candidate.FinishReason ro", "safetyRatings json[] ro", "finishMessage string ro",
        "citationMetadata json ro", "groundingMetadata json ro", "urlContextMetadata json ro",
        "continuationToken bytes ro",
    )  # fmt: skip
    s.enum("Modality", ["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT"])
    s.message("ModalityTokenCount", "modality Modality", "tokenCount int32")
    s.enum("GenerateContentResponse.UsageMetadata.TrafficType", _TRAFFIC_TYPES)
    s.message(
        "GenerateContentResponse.UsageMetadata",
        "promptTokenCount int32", "candidatesTokenCount int32", "thoughtsTokenCount int32 ro",
        "totalTokenCount int32", "cachedContentTokenCount int32 ro", "toolUsePromptTokenCount int32 ro",
        "promptTokensDetails ModalityTokenCount[] ro", "cacheTokensDetails ModalityTokenCount[] ro",
        "candidatesTokensDetails ModalityTokenCount[] ro",
        "toolUsePromptTokensDetails ModalityTokenCount[] ro",
        "trafficType GenerateContentResponse.UsageMetadata.TrafficType ro",
    )  # fmt: skip


def _declare_evaluation(s: Schema) -> None:
    """``EvaluationConfig`` (what the emulator reads of it is typed; the metric specs are free-form)."""
    s.message("GcsDestination", "outputUriPrefix string")
    s.message("OutputConfig", "gcsDestination GcsDestination oneof=destination")
    s.message(
        "AutoraterConfig", "samplingCount int32", "flipEnabled bool", "autoraterModel string",
        "generationConfig json",
    )  # fmt: skip
    s.message(
        "EvaluationConfig", "metrics json[]", "outputConfig OutputConfig", "autoraterConfig AutoraterConfig",
        "datasetCustomMetrics json[]", "inferenceGenerationConfig json",
    )  # fmt: skip


def _declare_methods(s: Schema, *, beta: bool) -> None:
    """The tuning specs beyond supervised tuning, and their data statistics.

    ``PreferenceOptimizationSpec.evaluationConfig`` and, in DistillationSpec,
    ``exportLastCheckpointOnly``, ``evaluationConfig`` and
    ``hyperParameters.sftLossWeightMultiplier`` are absent from the discovery
    documents (revision 20261106) but google-genai 3.x sends them: they are
    declared so that what Google's own client sends is accepted.
    """
    s.message(
        "PreferenceOptimizationHyperParameters",
        "epochCount int64",
        "learningRateMultiplier double",
        "adapterSize SupervisedHyperParameters.AdapterSize",
        "beta double",
    )
    s.message(
        "PreferenceOptimizationSpec",
        "trainingDatasetUri string",
        "validationDatasetUri string",
        "hyperParameters PreferenceOptimizationHyperParameters",
        "exportLastCheckpointOnly bool",
        "evaluationConfig EvaluationConfig",
    )
    s.message("DatasetDistribution.DistributionBucket", "count int64 ro", "left double ro", "right double ro")
    s.message(
        "DatasetDistribution",
        "sum double ro", "min double ro", "max double ro", "mean double ro", "median double ro",
        "p5 double ro", "p95 double ro", "buckets DatasetDistribution.DistributionBucket[] ro",
    )  # fmt: skip
    s.message(
        "PreferenceOptimizationDataStats",
        "tuningDatasetExampleCount int64 ro", "totalBillableTokenCount int64 ro",
        "tuningStepCount int64 ro", "userInputTokenDistribution DatasetDistribution ro",
        "userOutputTokenDistribution DatasetDistribution ro",
        "scoreVariancePerExampleDistribution DatasetDistribution ro",
        "scoresDistribution DatasetDistribution ro", "userDatasetExamples json[] ro",
        "droppedExampleReasons string[] ro", "droppedExampleIndices int64[] ro",
    )  # fmt: skip
    if not beta:
        return
    s.message(
        "DistillationHyperParameters",
        "epochCount int64",
        "learningRateMultiplier double",
        "adapterSize SupervisedHyperParameters.AdapterSize",
        "batchSize int64",
        "learningRate double",
        "sftLossWeightMultiplier double",
    )
    s.message(
        "DistillationSpec",
        "baseTeacherModel string oneof=teacher_model",
        "tunedTeacherModelSource string oneof=teacher_model",
        "promptDatasetUri string",
        "trainingDatasetUri string",
        "validationDatasetUri string",
        "hyperParameters DistillationHyperParameters",
        "studentModel string",
        "pipelineRootDirectory string",
        "tuningMode SupervisedTuningSpec.TuningMode",
        "exportLastCheckpointOnly bool",
        "evaluationConfig EvaluationConfig",
    )
    s.message(
        "FullFineTuningSpec",
        "trainingDatasetUri string",
        "validationDatasetUri string",
        "hyperParameters SupervisedHyperParameters",
    )
    s.message(
        "DatasetStats",
        "tuningDatasetExampleCount int64 ro", "totalTuningCharacterCount int64 ro",
        "totalBillableCharacterCount int64 ro", "totalBillableTokenCount int64 ro",
        "tuningStepCount int64 ro", "userInputTokenDistribution DatasetDistribution ro",
        "userOutputTokenDistribution DatasetDistribution ro",
        "userMessagePerExampleDistribution DatasetDistribution ro",
        "contentsPerExampleDistribution DatasetDistribution ro", "userDatasetExamples Content[] ro",
        "droppedExampleReasons string[] ro", "droppedExampleIndices int64[] ro",
    )  # fmt: skip
    s.message("DistillationDataStats", "trainingDatasetStats DatasetStats ro")


_BY_VERSION: dict[str, VertexMessages] = {
    "v1": _declare("google.cloud.aiplatform.v1", beta=False),
    "v1beta1": _declare("google.cloud.aiplatform.v1beta1", beta=True),
}


def messages(version: str) -> VertexMessages:
    """The messages of ``v1`` or ``v1beta1``."""
    return _BY_VERSION[version]


def prune(value: Mapping[str, Any], message: Message) -> dict[str, Any]:
    """``value`` without the keys ``message`` does not declare (recursively, through messages)."""
    result: dict[str, Any] = {}
    for key, item in value.items():
        f = message.fields.get(key)
        if f is None:
            continue
        if f.kind == "message" and f.type_name is not None:
            inner = lookup_message(f.type_name)
            if f.repeated and isinstance(item, list):
                result[key] = [prune(i, inner) if isinstance(i, Mapping) else i for i in item]
                continue
            if isinstance(item, Mapping):
                result[key] = prune(item, inner)
                continue
        result[key] = item
    return result
