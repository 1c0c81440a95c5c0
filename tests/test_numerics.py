import torch

from idk.nn.numerics import flush_denormals


def test_subnormals_are_flushed_inside_and_kept_outside():
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # subnormal in float32
    assert float(tiny * 1.0) > 0
    with flush_denormals():
        supported = float(tiny * 1.0) == 0.0
    assert float(tiny * 1.0) > 0  # restored
    assert supported or not torch.set_flush_denormal(False)  # only CPUs without the mode keep them
