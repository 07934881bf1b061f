"""The model runs on one torch thread inside `Engine.generate`, and the process's own
setting is restored afterwards (also when the composer fails)."""

import pytest
import torch

from engine_core.generate import one_model_thread


def test_one_thread_inside_and_the_setting_restored() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_model_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), one_model_thread():
            raise RuntimeError("the composer failed")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
