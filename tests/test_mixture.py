"""A mixture of K posteriors: its draws are its members' draws, its uncertainty between members is
the mixture's (closed form), and it trains, saves, loads and resumes member by member."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from helpers import MNIST_SPEC, for_mnist
from idk.apps import failures
from idk.apps.cli import main
from idk.decision.memory import bytes_per_sample, check_samples
from idk.decision.predictive import batch_size_for, predict
from idk.decision.scores import make_score
from idk.errors import CheckpointError, IdkError
from idk.nn.bnn import BNN, BNNMixture, ModelConfig, bayesian_members, build_model, member_samples
from idk.nn.networks import NetConfig
from idk.training import checkpoint
from idk.training.config import TrainConfig
from idk.training.fitting import fit
from idk.training.notices import warnings
from idk.training.train import MEMBER_SEED_STEP, fitted_parts


def _mixture(members: int = 2, init_scale: float = 0.3) -> BNNMixture:
    torch.manual_seed(1)
    cfg = ModelConfig(net=NetConfig(arch="mlp", hidden=16), init_scale=init_scale, members=members)
    model = build_model(for_mnist(cfg), dataset_size=100)
    assert isinstance(model, BNNMixture)
    return model.eval()


def _first_weights(member: BNN) -> torch.Tensor:
    return next(iter(member.guide.locs.values()))


def test_draws_are_shared_as_evenly_as_can_be():
    assert member_samples(100, 2) == [50, 50]
    assert member_samples(7, 3) == [3, 2, 2]
    assert member_samples(1, 2) == [1, 0]
    assert sum(member_samples(101, 4)) == 101


def test_a_mixture_s_draws_are_its_members_draws_in_turn():
    """S = 5 from two members: member 0's three networks, then member 1's two, from one generator,
    over the mixture's temperature; members' weights start apart."""
    model = _mixture()
    first, second = model.members
    assert not torch.equal(_first_weights(first), _first_weights(second))
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    model.temperature.fill_(2.0)
    got = model.sample_logits(x, 5, generator=torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(4)
    own = torch.cat([first.sample_logits(x, 3, generator=g), second.sample_logits(x, 2, generator=g)])
    assert got.shape == (5, 4, 10)
    torch.testing.assert_close(got, own / 2.0)
    one = model.sample_logits(x, 1, generator=torch.Generator().manual_seed(4))  # fewer draws than members
    torch.testing.assert_close(one, first.sample_logits(x, 1, generator=torch.Generator().manual_seed(4)) / 2.0)


def _certain_of(member: BNN, label: int) -> None:
    """Make ``member`` answer ``label`` with logit margin 30 whatever the input: every weight 0,
    the last bias one-hot (its spread, 1e-6, changes no probability at this precision)."""
    with torch.no_grad():
        for loc in member.guide.locs.values():
            loc.zero_()
        last = [k for k in member.guide.locs if k.endswith("bias")][-1]
        member.guide.locs[last][label] = 30.0


def test_uncertainty_between_members_is_the_mixture_s_closed_form():
    """Two members sure of different classes: p̄ = (1/2)(e₀ + e₁), so the total uncertainty is ln 2,
    the aleatoric part 0 and the mutual information ln 2 (tolerance 1e-6). With S = 5 the draws
    are 3 and 2, and p̄ = (0.6, 0.4)."""
    model = _mixture(init_scale=1e-6)
    _certain_of(model.members[0], 0)
    _certain_of(model.members[1], 1)
    x = torch.rand(6, 1, 28, 28)
    pred = predict(model, x, 100)
    torch.testing.assert_close(pred.mean_probs[:, :2], torch.full((6, 2), 0.5), atol=1e-6, rtol=0)
    torch.testing.assert_close(pred.expected_entropy, torch.zeros(6), atol=1e-6, rtol=0)
    torch.testing.assert_close(make_score("mutual-info")(pred), torch.full((6,), math.log(2)), atol=1e-6, rtol=0)
    odd = predict(model, x, 5)
    torch.testing.assert_close(odd.mean_probs[:, :2], torch.tensor([[0.6, 0.4]]).expand(6, 2), atol=1e-6, rtol=0)


def test_batches_and_memory_are_sized_by_one_member():
    model = _mixture(members=3)
    assert batch_size_for(model, 30) == batch_size_for(model.members[0], 10)
    assert bytes_per_sample(model) == bytes_per_sample(model.members[0]) > 0
    assert bayesian_members(model) == list(model.members)
    assert build_model(for_mnist(ModelConfig(members=1))).__class__ is BNN
    with pytest.raises(ValueError, match="at least one"):
        build_model(for_mnist(ModelConfig(members=0)))
    with pytest.raises(IdkError, match="--samples 2: a mixture of 3 posteriors draws at least one network from each"):
        check_samples(model, 2)
    check_samples(model, 3)
    with pytest.raises(TypeError, match="fit each of its members"):
        fit(model, torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long), TrainConfig(), spec=MNIST_SPEC)


def test_members_train_in_turn_each_from_its_own_seed():
    model = _mixture(members=3)
    twin = build_model(replace(model.cfg, bayesian=False))
    parts = list(fitted_parts(model, twin, TrainConfig(seed=5)))
    assert [(key, label, cfg.seed) for key, _, label, cfg in parts] == [
        ("model", "bayes 1/3", 5),
        ("model.1", "bayes 2/3", 5 + MEMBER_SEED_STEP),
        ("model.2", "bayes 3/3", 5 + 2 * MEMBER_SEED_STEP),
        ("twin", "twin", 5),
    ]
    assert [net for _, net, _, _ in parts] == [*model.members, twin]
    single = _mixture(members=2).members[0]
    assert [(key, label) for key, _, label, _ in fitted_parts(single, None, TrainConfig())] == [("model", "bayes")]


def test_a_mixture_trains_saves_loads_and_resumes_member_by_member(tmp_path, data_dir, capsys):
    out = tmp_path / "mix.pt"
    base = ["train", "--out", str(out), "--preset", "tutorial", "--train-subset", "500", "--samples", "4"]
    base += ["--data-dir", str(data_dir), "--members", "2"]
    assert main([*base, "--epochs", "1"]) == 0
    model, ckpt = checkpoint.load(out)
    assert isinstance(model, BNNMixture) and ckpt.kind == "BNNMixture" and ckpt.model_config.members == 2
    assert set(ckpt.training_state) == {"model", "model.1", "twin"}
    assert [ckpt.training_state[k]["epoch"] for k in ("model", "model.1")] == [1, 1]
    assert not torch.equal(*(_first_weights(m) for m in model.members))
    losses = [ckpt.training_state[k]["history"][-1]["loss"] for k in ("model", "model.1")]
    assert ckpt.member_losses() == losses and losses[0] != losses[1]
    # the tutorial preset holds no validation image out: nothing is measured after its epochs
    assert ckpt.describe()["members"] == [
        {"epochs": 1, "final_loss": loss, "held_out_accuracy": None} for loss in losses
    ]
    assert f"final losses of its members {losses[0]:.4f}, {losses[1]:.4f}" in capsys.readouterr().out

    assert main([*base, "--epochs", "2", "--resume"]) == 0
    assert "after 1 and 1 of 1 epochs by its 2 members; --epochs 2 applied" in capsys.readouterr().err
    resumed = checkpoint.read(out)
    assert [resumed.training_state[k]["epoch"] for k in ("model", "model.1")] == [2, 2]

    before = out.read_bytes()
    assert main([*base[:-1], "3", "--resume"]) == 2
    assert "--members 3 (stored: 2)" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_an_unfinished_mixture_answers_with_its_trained_members_alone():
    """Of three members, the first and third trained: a mixture of those two, numbered 0 and 1,
    drawing exactly what they draw in the whole mixture; none begun, or all: every member."""
    model = _mixture(members=3)
    ckpt = replace(
        checkpoint.Checkpoint(
            kind="BNNMixture",
            state_dict=model.state_dict(),
            model_config=model.cfg,
            classes=tuple("0123456789"),
            input_spec=MNIST_SPEC,
            rule={"name": "score", "score": "max-prob", "threshold": 0.5},
            rule_config=checkpoint.RuleConfig(),
            train_config=TrainConfig(),
            data=checkpoint.DataRecord("mnist"),
            dataset_size=100,
        ),
        training_state={"model": {"epoch": 2}, "model.1": {"epoch": 0}, "model.2": {"epoch": 1}},
    )
    assert ckpt.answering_members() == [0, 2]
    cut = ckpt.build()
    assert isinstance(cut, BNNMixture) and len(cut.members) == 2
    for new, old in ((0, 0), (1, 2)):
        assert all(torch.equal(v, model.members[old].state_dict()[k]) for k, v in cut.members[new].state_dict().items())
    for states in ({"model.1": {"epoch": 0}, "model.2": {"epoch": 0}} | {"model": {"epoch": 0}}, {}):
        assert replace(ckpt, training_state=states).answering_members() is None
    assert replace(ckpt, finished=True).answering_members() is None
    assert len(replace(ckpt, finished=True).build().members) == 3


def test_a_stored_class_that_disagrees_with_the_member_count_is_refused(tmp_path, data_dir):
    out = tmp_path / "mix.pt"
    args = ["train", "--out", str(out), "--preset", "tutorial", "--train-subset", "300", "--epochs", "1"]
    assert main([*args, "--members", "2", "--no-twin", "--data-dir", str(data_dir), "-q"]) == 0
    stored = torch.load(out, weights_only=True)
    stored["kind"] = "BNN"
    torch.save(stored, out)
    with pytest.raises(CheckpointError, match="class BNN does not match its configuration"):
        checkpoint.load(out)


def test_a_run_killed_between_members_resumes_to_the_same_weights(tmp_path, data_dir, monkeypatch):
    """Killed as the second member starts (the first has finished its epochs): ``--resume`` leaves
    the first member as it was and trains the second exactly as an uninterrupted run would."""
    import idk.training.train as train_module

    args = ["--preset", "tutorial", "--train-subset", "500", "--samples", "4", "--epochs", "2", "--members", "2"]
    args += ["--data-dir", str(data_dir), "-q"]
    whole, killed = tmp_path / "whole.pt", tmp_path / "killed.pt"
    assert main(["train", "--out", str(whole), *args]) == 0

    fit = train_module.fit

    def killed_at_second_member(net, *a, label, **k):
        if label == "bayes 2/2":
            raise KeyboardInterrupt
        return fit(net, *a, label=label, **k)

    monkeypatch.setattr(train_module, "fit", killed_at_second_member)
    assert main(["train", "--out", str(killed), *args]) == failures.INTERRUPTED
    partial = checkpoint.read(killed)
    assert not partial.finished
    assert [partial.training_state[k]["epoch"] for k in ("model", "model.1")] == [2, 0]
    assert partial.training_progress() == "2 and 0 of 2 epochs by its 2 members"
    # meanwhile it answers with its trained member alone (the other's random start would dilute it), and says so
    answering, _ = checkpoint.load(killed)
    assert partial.answering_members() == [0] and isinstance(answering, BNN)
    first = partial.build(device="cpu")
    assert all(
        torch.equal(answering.state_dict()[k], v) for k, v in checkpoint.load(whole)[0].members[0].state_dict().items()
    )
    assert first.state_dict().keys() == answering.state_dict().keys()
    assert "meanwhile it answers with the 1 of its 2 members that has trained" in " ".join(warnings(partial))
    monkeypatch.setattr(train_module, "fit", fit)

    assert main(["train", "--out", str(killed), "--resume", "--data-dir", str(data_dir), "-q"]) == 0
    a, b = checkpoint.read(whole), checkpoint.read(killed)
    assert b.finished and b.rule == a.rule
    assert b.state_dict.keys() == a.state_dict.keys()
    assert all(torch.equal(b.state_dict[k], a.state_dict[k]) for k in a.state_dict)
