"""Prompt -> state: what a text says about tempo, key, meter, groove and instruments.

    from middleware.prompt import infer_state, Given
    inference = infer_state("calm ambient music with gentle harp, suitable for main menu")
    spec = inference.spec()              # a fully resolved GenerationSpec
    for value in inference.values:       # each value with its source and evidence
        print(value.key, value.value, value.source, value.evidence)

Used by the template loader (fields a state leaves to its prompt) and by `compose`.
Modules: `words` (vocabularies), `parse` (explicit reading), `similarity` (MiniLM),
`arrangement` (stems), `infer` (precedence and sources). See docs/templates.md.
"""

from middleware.prompt.infer import (
    Given,
    Inference,
    InferredValue,
    Source,
    StemRequest,
    infer_state,
)
from middleware.prompt.parse import PromptReading, read_prompt

__all__ = [
    "Given",
    "Inference",
    "InferredValue",
    "PromptReading",
    "Source",
    "StemRequest",
    "infer_state",
    "read_prompt",
]
