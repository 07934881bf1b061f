"""What a cold `compose` avoids: the text model when the spec decides every control.

The diffusion composer reads the prompt (MiniLM) only for the controls that fields and tags
leave open; a composed state resolves energy, density, brightness and style itself, so the
engine need not load MiniLM for it. Real weights, real MiniLM.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine_core.model.composer import DiffusionComposer
from engine_core.model.controls import controls_for_spec
from engine_core.model.text import PromptInterpreter
from middleware.prompt import infer_state
from middleware.prompt.similarity import PromptScorer


@pytest.fixture(scope="module")
def checkpoint():
    return DiffusionComposer.load().checkpoint


def test_a_composed_spec_never_loads_the_text_model(tmp_path: Path, checkpoint) -> None:
    text = "intense battle theme with heavy drums and brass, epic feel"
    spec = infer_state(text, scorer=PromptScorer(cache_dir=tmp_path / "scores")).spec()
    interpreter = PromptInterpreter(cache_dir=tmp_path / "text")
    composer = DiffusionComposer(checkpoint, interpreter)
    controls = composer.controls(spec)
    assert interpreter._model is None and not (tmp_path / "text").exists()
    assert controls == controls_for_spec(spec)  # the text would have changed nothing
    assert (controls.energy, controls.density) == (spec.energy, spec.density)


def test_a_spec_that_leaves_a_control_open_reads_the_prompt(tmp_path: Path, checkpoint) -> None:
    text = "intense battle theme with heavy drums and brass, epic feel"
    spec = infer_state(text, scorer=PromptScorer(cache_dir=tmp_path / "scores")).spec()
    open_spec = replace(spec, energy=None, tags=())
    interpreter = PromptInterpreter(cache_dir=tmp_path / "text")
    controls = DiffusionComposer(checkpoint, interpreter).controls(open_spec)
    assert list((tmp_path / "text").glob("*.json"))  # the prompt was read (and cached)
    assert controls.energy is not None and controls.energy > 0.5  # an intense prompt
