"""What batching rests on, checked piece by piece: every zoo preset runs under vmap exactly as its models one by
one, per-member gradient clipping, the step-mode choice, the step-state cache, the memory estimate and
``can_batch``."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.benchmarks.registry import get_benchmark
from app.zoo.build import build_model
from app.zoo.presets import PRESETS, PUBLISHED_INPUT
from app.zoo.spec import parse_spec
from workers.training.graphs import (
    WARMUP_STEPS,
    Capture,
    EagerStep,
    GraphedStep,
    StepState,
    StepStateCache,
    choose_step_mode,
)
from workers.training.memory import estimate_batched_memory, saved_activation_bytes
from workers.training.stacked import StackedModel, clip_per_member, stochastic_reason, unverified_modules
from workers.training.train_spec import BATCH_ON_CPU, can_batch, estimate_memory, members_that_fit

TINY = sorted(p for p in PRESETS if p.startswith("tiny_"))


def input_shape(preset: str) -> tuple[int, int, int]:
    return (1, 8, 8) if preset.endswith("_digits") else (3, 32, 32)


def models_for(preset: str, seeds: tuple[int, ...]) -> list[nn.Module]:
    spec = parse_spec({"preset": preset, "overrides": {}})
    out = []
    for s in seeds:
        torch.manual_seed(s)
        out.append(build_model(spec, input_shape(preset), 10))
    return out


@pytest.mark.parametrize("preset", TINY)
def test_every_tiny_preset_batches_exactly(preset: str) -> None:
    """Forward, backward and BatchNorm statistics of a stack of 2 equal those of the 2 models one by one."""
    models = models_for(preset, (0, 1))
    assert unverified_modules(models[0]) == [] and stochastic_reason(models[0]) is None
    stacked = StackedModel(models, torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, *input_shape(preset), generator=gen)
    y = torch.randint(0, 10, (2, 4), generator=gen)
    loss, correct = stacked.train_outputs(x, y, label_smoothing=0.1)
    loss.sum().backward()
    for i, model in enumerate(models):
        model.train()
        logits = model(x[i])
        one = F.cross_entropy(logits, y[i], label_smoothing=0.1)
        one.backward()
        assert loss[i].item() == pytest.approx(one.item(), abs=1e-5)
        assert int(correct[i]) == int((logits.argmax(1) == y[i]).sum())
        grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
        scale = max(float(g.abs().max()) for g in grads.values())
        for name, g in grads.items():
            got = stacked.params[name].grad
            assert got is not None
            # float32 sums in another order: compare with the tensor's largest gradient (cuda_check's rule), or
            # with 1 % of the model's for tensors whose true gradient is zero (a bias before PoolFormer's
            # pooling mixer, which cancels it) and whose numbers are rounding noise on both sides.
            err = float((got[i] - g).abs().max()) / max(float(g.abs().max()), 1e-2 * scale, 1e-12)
            assert err < 1e-3, (name, err)
        for name, b in model.named_buffers():
            torch.testing.assert_close(stacked.buffers[name][i], b, atol=1e-5, rtol=1e-4, msg=name)
        model.eval()
        torch.testing.assert_close(stacked.eval_logits(x[0])[i], model(x[0]), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("preset", sorted(PUBLISHED_INPUT))
def test_published_presets_are_known_or_refused(preset: str) -> None:
    """Every module type of the big presets is verified; the ones with drop path are refused for its draws."""
    shape, classes = PUBLISHED_INPUT[preset]
    with torch.device("meta"):
        model = build_model(parse_spec({"preset": preset, "overrides": {}}), shape, classes)
    assert unverified_modules(model) == []
    has_drop_path = PRESETS[preset].get("drop_path", 0) > 0
    assert (stochastic_reason(model) is not None) == has_drop_path


def test_unknown_module_types_are_named() -> None:
    class Odd(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    assert unverified_modules(nn.Sequential(nn.Linear(2, 2), Odd())) == ["Odd"]
    assert "Dropout" in (stochastic_reason(nn.Sequential(nn.Dropout(0.1))) or "")
    assert stochastic_reason(nn.Sequential(nn.Dropout(0.0))) is None


def test_clipping_is_per_member_and_isolates_nan() -> None:
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(3, 5, 4, generator=gen) * 3, torch.randn(3, 7, generator=gen) * 3]
    grads[0][2, 0, 0] = math.nan  # member 2's gradient is broken
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    clip_per_member(params, 1.0)
    for member in (0, 1):
        alone = [torch.zeros_like(g[member], requires_grad=True) for g in grads]
        for p, g in zip(alone, grads, strict=True):
            p.grad = g[member].clone()
        torch.nn.utils.clip_grad_norm_(alone, 1.0)
        for p, q in zip(params, alone, strict=True):
            torch.testing.assert_close(p.grad[member], q.grad)  # type: ignore[index]
    assert params[1].grad is not None and torch.isnan(params[1].grad[2]).all()  # only member 2 is NaN
    assert torch.isfinite(params[1].grad[:2]).all()


def test_step_mode_selection() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert choose_step_mode("auto", cpu)[0] == "eager"
    mode, why = choose_step_mode("cuda_graph", cpu)
    assert mode == "eager" and "CUDA device" in why
    assert choose_step_mode("auto", cuda)[0] == "cuda_graph"
    assert choose_step_mode("cuda_graph", cuda)[0] == "cuda_graph"
    assert choose_step_mode("eager", cuda)[0] == "eager"
    with pytest.raises(ValueError, match="auto, eager, cuda_graph"):
        choose_step_mode("compile", cpu)


def test_step_state_cache_keeps_one_shape() -> None:
    def state() -> StepState:
        stacked = StackedModel([nn.Linear(2, 2)], torch.device("cpu"))
        opt = torch.optim.SGD(list(stacked.params.values()), lr=0.1)
        return StepState(stacked, opt, EagerStep(stacked, opt, label_smoothing=0.0, grad_clip=None))

    cache = StepStateCache()
    a, b = state(), state()
    cache.put("a", a)
    cache.put("b", b)
    assert len(cache) == 1 and cache.take("a") is None and cache.take("b") is b and len(cache) == 0
    cache.put("a", a)
    cache.discard_other("b")
    assert len(cache) == 0


def test_adopt_refuses_another_architecture() -> None:
    stacked = StackedModel([nn.Linear(2, 2)], torch.device("cpu"))
    opt = torch.optim.SGD(list(stacked.params.values()), lr=0.1)
    state = StepState(stacked, opt, EagerStep(stacked, opt, label_smoothing=0.0, grad_clip=None))
    with pytest.raises(ValueError, match="another architecture"):
        state.adopt(StackedModel([nn.Linear(2, 3, bias=False)], torch.device("cpu")))


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize("preset", ["tiny_resnet_digits", "tiny_swin_digits", "tiny_densenet_digits"])
def test_meta_measurement_equals_the_real_step(preset: str) -> None:
    """The saved activations counted on the meta device are those of the real batched step on CPU."""
    spec = parse_spec({"preset": preset, "overrides": {}})

    def factory() -> nn.Module:
        return build_model(spec, (1, 8, 8), 10)

    meta_total, meta_largest = saved_activation_bytes(factory, (1, 8, 8), 32, 3)
    stacked = StackedModel(models_for(preset, (0, 1, 2)), torch.device("cpu"))
    params = {id(p) for p in stacked.params.values()}
    seen: dict[int, tuple[torch.Tensor, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if id(t) not in params and (t._base is None or id(t._base) not in params):
            seen[id(t)] = (t, t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        stacked.train_outputs(torch.randn(3, 32, 1, 8, 8), torch.randint(0, 10, (3, 32)), label_smoothing=0.0)
    assert meta_total == sum(b for _, b in seen.values()) and meta_largest == max(b for _, b in seen.values())


def test_estimate_grows_with_members_and_counts_every_part() -> None:
    bench = get_benchmark("digits")
    spec = parse_spec({"preset": "tiny_resnet_digits", "overrides": {}})
    three = estimate_memory(spec, bench, 3, "cuda")
    ten = estimate_memory(spec, bench, 10, "cuda")
    n_params = sum(p.numel() for p in build_model(spec, (1, 8, 8), 10).parameters())
    assert three.weights == 3 * n_params * 4 * 4  # weights, gradients, AdamW's two moments
    assert ten.activations == pytest.approx(10 / 3 * three.activations, rel=0.05)
    assert three.overhead > 0 and estimate_memory(spec, bench, 3, "cpu").overhead == 0
    assert three.data > 0 and ten.total > three.total > three.weights + three.activations
    with pytest.raises(ValueError):
        estimate_batched_memory(
            lambda: build_model(spec, (1, 8, 8), 10), bench.load(), bench.recipe, 0, torch.device("cpu")
        )
    print(
        f"tiny_resnet_digits on CUDA: 3 members ~{three.total / 2**20:.0f} MiB, 10 members ~{ten.total / 2**20:.0f} MiB"
    )


def test_can_batch_says_why() -> None:
    bench = get_benchmark("digits")
    spec = parse_spec({"preset": "tiny_resnet_digits", "overrides": {}})
    ok, why = can_batch(spec, bench, 3, "cuda")
    assert ok and "GiB" in why
    ok, why = can_batch(spec, bench, 3, "cpu")
    assert ok == BATCH_ON_CPU and ("CPU" in why or ok)
    assert can_batch(spec, bench, 3, "cpu", allow_cpu=True)[0]
    need = estimate_memory(spec, bench, 3, "cuda").total
    ok, why = can_batch(spec, bench, 3, "cuda", memory_budget_bytes=need - 1)
    assert not ok and "budget" in why
    assert can_batch(spec, bench, 3, "cuda", memory_budget_bytes=need)[0]
    assert members_that_fit(spec, bench, "cuda", need, 10) == 3
    assert members_that_fit(spec, bench, "cuda", 1, 10) == 0
    drop = parse_spec({"preset": "tiny_vit_digits", "overrides": {"drop_path": 0.1}})
    ok, why = can_batch(drop, bench, 3, "cuda")
    assert not ok and "DropPath" in why
    unfit = parse_spec({"preset": "tiny_vit_digits", "overrides": {"stem": {"patch_size": 3}}})
    ok, why = can_batch(unfit, bench, 3, "cuda")
    assert not ok and "does not build" in why


# ---------------------------------------------------------------- the captured step's bookkeeping, on CPU


def _graph_pair(preset: str = "tiny_resnet_digits") -> tuple[list[StepState], list[torch.Tensor], list[torch.Tensor]]:
    """Two identical (stacked model, AdamW) states, and a few random batches for 2 members."""
    states = []
    for _ in range(2):
        stacked = StackedModel(models_for(preset, (0, 1)), torch.device("cpu"))
        opt = torch.optim.AdamW(list(stacked.params.values()), lr=1e-2)
        states.append(StepState(stacked, opt, EagerStep(stacked, opt, label_smoothing=0.0, grad_clip=1.0)))
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(2, 16, 1, 8, 8, generator=gen) for _ in range(7)]
    ys = [torch.randint(0, 10, (2, 16), generator=gen) for _ in range(7)]
    return states, xs, ys


def _fake_capture(opt: torch.optim.Optimizer, log: list[str], corrupt: float = 1.0) -> Capture:
    """A CPU stand-in for ``cuda_capture``: records without running; a replay runs the step and writes the
    static outputs in place, with fresh gradients as a graph's backward gives (``corrupt`` scales the loss
    it reports, to simulate a wrong graph)."""

    def capture(
        fn: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    ) -> tuple[Callable[[], None], tuple[torch.Tensor, torch.Tensor]]:
        log.append("capture")
        out = (torch.empty(2), torch.empty(2, dtype=torch.int64))

        def replay() -> None:
            log.append("replay")
            opt.zero_grad(set_to_none=True)
            loss, correct = fn()
            out[0].copy_(loss * corrupt)
            out[1].copy_(correct)

        return replay, out

    return capture


def _run(step: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]], xs: list[torch.Tensor],
         ys: list[torch.Tensor]) -> list[torch.Tensor]:  # fmt: skip
    return [step(x, y)[0] for x, y in zip(xs, ys, strict=True)]


def _same_params(a: StackedModel, b: StackedModel) -> bool:
    return all(torch.equal(a.params[n], b.params[n]) for n in a.params)


def test_graphed_step_warms_up_captures_once_and_replays() -> None:
    (graphed, eager), xs, ys = _graph_pair()
    log: list[str] = []
    step = GraphedStep(graphed.stacked, graphed.optimizer, label_smoothing=0.0, grad_clip=1.0,
                       capture=_fake_capture(graphed.optimizer, log), warm=lambda fn: fn())  # fmt: skip
    got = _run(step, xs, ys)
    want = _run(eager.step, xs, ys)
    assert log == ["capture"] + ["replay"] * (len(xs) - WARMUP_STEPS)
    assert step.mode == "cuda_graph" and step.verified and step.capture_seconds > 0
    assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    assert _same_params(graphed.stacked, eager.stacked)
    step.invalidate()  # a member left: warm up and capture again
    _run(step, xs, ys)
    assert log.count("capture") == 2


@pytest.mark.parametrize("failure", ["mismatch", "raises"])
def test_a_bad_graph_falls_back_to_eager_with_state_restored(failure: str) -> None:
    (graphed, eager), xs, ys = _graph_pair()
    log: list[str] = []
    capture = _fake_capture(graphed.optimizer, log, corrupt=1.5)
    if failure == "raises":

        def capture(
            fn: Callable[[], tuple[torch.Tensor, torch.Tensor]],
        ) -> tuple[Callable[[], None], tuple[torch.Tensor, torch.Tensor]]:
            raise RuntimeError("operation not permitted when stream is capturing")

    step = GraphedStep(graphed.stacked, graphed.optimizer, label_smoothing=0.0, grad_clip=1.0, capture=capture,
                       warm=lambda fn: fn())  # fmt: skip
    got = _run(step, xs, ys)
    want = _run(eager.step, xs, ys)
    assert step.mode == "eager" and step.fallback_reason is not None
    assert ("disagreed" if failure == "mismatch" else "capture failed") in step.fallback_reason
    assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    assert _same_params(graphed.stacked, eager.stacked)  # the disagreeing replay's update was undone
