"""The generativelanguage v1beta messages the Gemini surface reads and writes.

Field names, types, oneofs and enum numbers follow Google's protos
(``google/ai/generativelanguage/v1beta/*.proto``); a test checks them
against the descriptors of the ``google-ai-generativelanguage`` package.
Messages the emulator never looks inside (tools, grounding, speech…) are
declared as free-form ``json`` so that any value a client sends is accepted
and then refused or ignored by the handler with a clear message.
"""

from __future__ import annotations

from tuneport_emulator.schema import Message, Schema

__all__ = [
    "CREATE_TUNED_MODEL_METADATA",
    "GENERATE_CONTENT_REQUEST",
    "GENERATE_CONTENT_RESPONSE",
    "LIST_MODELS_RESPONSE",
    "LIST_TUNED_MODELS_RESPONSE",
    "MODEL",
    "PACKAGE",
    "TUNED_MODEL",
]

PACKAGE = "google.ai.generativelanguage.v1beta"
_S = Schema(PACKAGE)

# --- enums ---------------------------------------------------------------------------

_S.enum("TunedModel.State", ["STATE_UNSPECIFIED", "CREATING", "ACTIVE", "FAILED"])
_S.enum(
    "HarmCategory",
    [
        "HARM_CATEGORY_UNSPECIFIED", "HARM_CATEGORY_DEROGATORY", "HARM_CATEGORY_TOXICITY",
        "HARM_CATEGORY_VIOLENCE", "HARM_CATEGORY_SEXUAL", "HARM_CATEGORY_MEDICAL",
        "HARM_CATEGORY_DANGEROUS", "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    ],
)  # fmt: skip
_S.enum(
    "SafetySetting.HarmBlockThreshold",
    ["HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE",
     "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"],
)  # fmt: skip
_S.enum(
    "SafetyRating.HarmProbability", ["HARM_PROBABILITY_UNSPECIFIED", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH"]
)
# Not in tag order: LANGUAGE (6) was added after OTHER (5).
_S.enum(
    "Candidate.FinishReason",
    {
        "FINISH_REASON_UNSPECIFIED": 0, "STOP": 1, "MAX_TOKENS": 2, "SAFETY": 3, "RECITATION": 4,
        "OTHER": 5, "LANGUAGE": 6, "BLOCKLIST": 7, "PROHIBITED_CONTENT": 8, "SPII": 9,
        "MALFORMED_FUNCTION_CALL": 10, "IMAGE_SAFETY": 11,
    },
)  # fmt: skip
_S.enum("GenerationConfig.Modality", ["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"])
_S.enum(
    "GenerationConfig.MediaResolution",
    [
        "MEDIA_RESOLUTION_UNSPECIFIED",
        "MEDIA_RESOLUTION_LOW",
        "MEDIA_RESOLUTION_MEDIUM",
        "MEDIA_RESOLUTION_HIGH",
    ],
)

# --- tuning --------------------------------------------------------------------------

_S.message("TuningExample", "textInput string oneof=model_input", "output string")
_S.message("TuningExamples", "examples TuningExample[]")
_S.message("Dataset", "examples TuningExamples oneof=dataset")
_S.message(
    "Hyperparameters",
    "learningRate float oneof=learning_rate_option",
    "learningRateMultiplier float oneof=learning_rate_option",
    "epochCount int32",
    "batchSize int32",
)
_S.message(
    "TuningSnapshot", "step int32 ro", "epoch int32 ro", "meanLoss float ro", "computeTime timestamp ro"
)
_S.message(
    "TuningTask",
    "startTime timestamp ro",
    "completeTime timestamp ro",
    "snapshots TuningSnapshot[] ro",
    "trainingData Dataset",
    "hyperparameters Hyperparameters",
)
_S.message("TunedModelSource", "tunedModel string", "baseModel string ro")
TUNED_MODEL: Message = _S.message(
    "TunedModel",
    "tunedModelSource TunedModelSource oneof=source_model",
    "baseModel string oneof=source_model",
    "name string ro",
    "displayName string",
    "description string",
    "temperature float",
    "topP float",
    "topK int32",
    "state TunedModel.State ro",
    "createTime timestamp ro",
    "updateTime timestamp ro",
    "tuningTask TuningTask",
    "readerProjectNumbers int64[]",
)
CREATE_TUNED_MODEL_METADATA: Message = _S.message(
    "CreateTunedModelMetadata",
    "tunedModel string",
    "totalSteps int32",
    "completedSteps int32",
    "completedPercent float",
    "snapshots TuningSnapshot[]",
)
LIST_TUNED_MODELS_RESPONSE: Message = _S.message(
    "ListTunedModelsResponse", "tunedModels TunedModel[]", "nextPageToken string"
)

# --- models --------------------------------------------------------------------------

MODEL: Message = _S.message(
    "Model",
    "name string",
    "baseModelId string",
    "version string",
    "displayName string",
    "description string",
    "inputTokenLimit int32",
    "outputTokenLimit int32",
    "supportedGenerationMethods string[]",
    "temperature float",
    "maxTemperature float",
    "topP float",
    "topK int32",
    "thinking bool",
)
LIST_MODELS_RESPONSE: Message = _S.message("ListModelsResponse", "models Model[]", "nextPageToken string")

# --- generateContent -----------------------------------------------------------------

_S.message("Blob", "mimeType string", "data bytes")
_S.message("FileData", "mimeType string", "fileUri string")
# videoDuration is from older protos (google-ai-generativelanguage 0.6), which clients may still send.
_S.message(
    "VideoMetadata", "startOffset duration", "endOffset duration", "fps double", "videoDuration duration"
)
_S.message(
    "Part",
    "text string oneof=data",
    "inlineData Blob oneof=data",
    "functionCall json oneof=data",
    "functionResponse json oneof=data",
    "fileData FileData oneof=data",
    "executableCode json oneof=data",
    "codeExecutionResult json oneof=data",
    "videoMetadata VideoMetadata oneof=metadata",
    "thought bool",
    "thoughtSignature bytes",
    "partMetadata json",
)
_S.message("Content", "parts Part[]", "role string")
_S.message("SafetySetting", "category HarmCategory", "threshold SafetySetting.HarmBlockThreshold")
_S.message(
    "GenerationConfig",
    "candidateCount int32",
    "stopSequences string[]",
    "maxOutputTokens int32",
    "temperature float",
    "topP float",
    "topK int32",
    "seed int32",
    "responseMimeType string",
    "responseSchema json",
    "responseJsonSchema json",
    "responseJsonSchemaOrdered json",
    "presencePenalty float",
    "frequencyPenalty float",
    "responseLogprobs bool",
    "logprobs int32",
    "enableEnhancedCivicAnswers bool",
    "responseModalities GenerationConfig.Modality[]",
    "speechConfig json",
    "thinkingConfig json",
    "imageConfig json",
    "mediaResolution GenerationConfig.MediaResolution",
)
GENERATE_CONTENT_REQUEST: Message = _S.message(
    "GenerateContentRequest",
    "model string",
    "systemInstruction Content",
    "contents Content[]",
    "tools json[]",
    "toolConfig json",
    "safetySettings SafetySetting[]",
    "generationConfig GenerationConfig",
    "cachedContent string",
)
_S.message(
    "SafetyRating", "category HarmCategory", "probability SafetyRating.HarmProbability", "blocked bool"
)
_S.message(
    "Candidate",
    "index int32 ro",
    "content Content ro",
    "finishReason Candidate.FinishReason ro",
    "finishMessage string ro",
    "safetyRatings SafetyRating[]",
    "citationMetadata json ro",
    "tokenCount int32 ro",
    "groundingAttributions json[] ro",
    "groundingMetadata json ro",
    "avgLogprobs double ro",
    "logprobsResult json ro",
    "urlContextMetadata json ro",
)
_S.message(
    "GenerateContentResponse.UsageMetadata",
    "promptTokenCount int32",
    "cachedContentTokenCount int32",
    "candidatesTokenCount int32",
    "toolUsePromptTokenCount int32 ro",
    "thoughtsTokenCount int32 ro",
    "totalTokenCount int32",
    "promptTokensDetails json[] ro",
    "cacheTokensDetails json[] ro",
    "candidatesTokensDetails json[] ro",
    "toolUsePromptTokensDetails json[] ro",
)
GENERATE_CONTENT_RESPONSE: Message = _S.message(
    "GenerateContentResponse",
    "candidates Candidate[]",
    "promptFeedback json",
    "usageMetadata GenerateContentResponse.UsageMetadata ro",
    "modelVersion string ro",
    "responseId string ro",
)
_S.check_complete()
