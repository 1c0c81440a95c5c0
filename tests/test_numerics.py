import torch

from idk.nn.numerics import flush_denormals, set_flush_denormals


def test_subnormals_are_flushed_inside_and_kept_outside():
    set_flush_denormals(False)  # the state before: off (an earlier command in this process may have set it)
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # subnormal in float32 (made while not flushing)
    assert float(tiny * 1.0) > 0
    with flush_denormals():
        supported = float(tiny * 1.0) == 0.0
    assert float(tiny * 1.0) > 0  # restored
    assert supported or not torch.set_flush_denormal(False)  # only CPUs without the mode keep them


def test_a_block_restores_flushing_switched_on_before_it():
    """The command line switches flushing on at start-up: a block (a training run) leaves it on."""
    set_flush_denormals(False)
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    try:
        if not set_flush_denormals(True):
            return  # a CPU without the mode: nothing to restore
        with flush_denormals():
            assert float(tiny * 1.0) == 0.0
        assert float(tiny * 1.0) == 0.0  # still on after the block
    finally:
        set_flush_denormals(False)
    assert float(tiny * 1.0) > 0
