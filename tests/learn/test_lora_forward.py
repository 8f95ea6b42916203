"""The fused LoRA training forward (arcfarm.learn.lora_forward) against peft's own layers on the
tiny model: same hidden states and same LoRA gradients in float32 (with and without layer
checkpointing, with an adapter on only some projections), close in bfloat16, and a
FastLoraTrainer step on either path leaves the same LoRA weights."""
from __future__ import annotations

import copy
import functools
import statistics

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch.utils.checkpoint import checkpoint

from arcfarm.learn.fast_train import ALL_LINEAR, FastLoraTrainer
from arcfarm.learn.lora_forward import TORCH_OPS, Ops, lora_hidden_states
from arcfarm.learn.model import setup_tokenizer
from arcfarm.learn.tiny_model import build_model, build_tokenizer
from arcfarm.learn.trainer import LoraSettings


def _peft(targets, dtype=torch.float32):
    tokenizer = setup_tokenizer(build_tokenizer())
    model = build_model(tokenizer, seed=0, layers=2, hidden=128).to(dtype)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, use_rslora=True, target_modules=targets))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:  # B is zero at init: make the adapter matter
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return peft, tokenizer


def _ids(vocab: int, rows: int = 2, length: int = 37) -> torch.Tensor:
    return torch.randint(3, vocab, (rows, length), generator=torch.Generator().manual_seed(2))


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got - want).norm() / want.norm().clamp_min(1e-30)).item()


def _hidden_and_grads(peft, fn):
    peft.zero_grad(set_to_none=True)
    hidden = fn()
    (hidden.float() * torch.linspace(-1, 1, hidden.shape[-1])).sum().backward()
    grads = {n: p.grad.clone() for n, p in peft.named_parameters() if p.requires_grad}
    return hidden.detach(), grads


@pytest.mark.parametrize("targets,checkpointed", [(ALL_LINEAR, False), (ALL_LINEAR, True),
                                                  (["q_proj", "v_proj", "up_proj"], False)])
def test_same_hidden_states_and_gradients_as_peft(targets, checkpointed):
    peft, _ = _peft(targets)
    lm = peft.get_base_model()
    ids = _ids(lm.config.vocab_size)
    peft.train()
    for layer in lm.model.layers:  # as FastLoraTrainer._set_checkpointing marks them
        layer.gradient_checkpointing = checkpointed
        layer._gradient_checkpointing_func = functools.partial(checkpoint, use_reentrant=False)
    want, want_grads = _hidden_and_grads(peft, lambda: lm.model(input_ids=ids, use_cache=False).last_hidden_state)
    got, got_grads = _hidden_and_grads(peft, lambda: lora_hidden_states(lm, ids, "default"))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert want_grads.keys() == got_grads.keys() and len(got_grads) > 0
    worst = max(_rel(got_grads[n], want_grads[n]) for n in want_grads)
    assert worst < 1e-5  # float32 summation order only (measured ~1e-6)


def test_bfloat16_lora_is_as_close_to_float32_as_peft():
    """bf16 base weights, float32 LoRA factors (as on the GPU): the fused path computes the LoRA in
    bf16, peft in float32. Against the same model run wholly in float32, the fused path's hidden
    states and LoRA gradients are about as close as peft's (the bf16 base layers dominate)."""
    peft, _ = _peft(ALL_LINEAR, dtype=torch.bfloat16)
    for p in peft.parameters():
        if p.requires_grad:
            p.data = p.data.float()  # peft's autocast_adapter_dtype does this on a bf16 model
    reference = copy.deepcopy(peft).float()
    for model in (peft, reference):
        model.train()
    lm, ref_lm = peft.get_base_model(), reference.get_base_model()
    ids = _ids(lm.config.vocab_size)
    ref_h, ref_g = _hidden_and_grads(reference, lambda: ref_lm.model(input_ids=ids, use_cache=False).last_hidden_state)
    peft_h, peft_g = _hidden_and_grads(peft, lambda: lm.model(input_ids=ids, use_cache=False).last_hidden_state)
    got_h, got_g = _hidden_and_grads(peft, lambda: lora_hidden_states(lm, ids, "default"))
    assert _rel(got_h.float(), ref_h) < 1.5 * _rel(peft_h.float(), ref_h) + 1e-3

    def median(grads):
        return statistics.median(_rel(grads[n], ref_g[n]) for n in ref_g)
    assert median(got_g) < 1.5 * median(peft_g) + 1e-3  # measured 0.0099 vs 0.0090


def test_a_trainer_step_on_either_path_gives_the_same_lora():
    tokenizer = setup_tokenizer(build_tokenizer())
    settings = LoraSettings(rank=4, alpha=8, target_modules=list(ALL_LINEAR), learning_rate=1e-2)
    states = []
    for fused in (False, True):
        model = build_model(tokenizer, seed=0, layers=2, hidden=128)
        ids = _ids(model.config.vocab_size)
        labels = ids.clone()
        labels[:, :20] = -100
        trainer = FastLoraTrainer(model, tokenizer, settings, fused=fused)
        trainer.reset(seed=0)
        with torch.no_grad():
            for name, p in trainer._params.items():
                if "lora_B" in name:
                    p.fill_(0.01)
        trainer.model.train()
        loss, _, _ = trainer._step((ids, labels, torch.ones_like(ids)), trainer._get_optimizer(settings), 1.0)
        states.append((loss, trainer.lora_state()))
    (loss_a, a), (loss_b, b) = states
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    # Adam's first step moves each weight by about +-lr whatever the gradient's size, so float
    # noise in near-zero gradients shows more here than in the gradients themselves (~3e-4 seen).
    assert max(_rel(b[n], a[n]) for n in a) < 2e-3


def test_lora_dropout_keeps_peft_layers():
    """The fused forward has no dropout; a config with dropout must still train, through peft."""
    tokenizer = setup_tokenizer(build_tokenizer())
    model = build_model(tokenizer, seed=0, layers=2, hidden=128)
    settings = LoraSettings(rank=4, alpha=8, dropout=0.1, target_modules=list(ALL_LINEAR))
    trainer = FastLoraTrainer(model, tokenizer, settings)
    assert not trainer.fused
    ids = _ids(model.config.vocab_size)
    trainer.model.train()
    loss, _, _ = trainer._step((ids, ids.clone(), torch.ones_like(ids)), trainer._get_optimizer(settings), 1.0)
    assert loss > 0


def test_every_elementwise_piece_goes_through_the_ops_given():
    """What a kernel library (liger_ops) plugs into: the layer calls the Ops it is given, each as
    often as Llama needs it, and ops that compute the same maths another way give the same states."""
    peft, _ = _peft(ALL_LINEAR)
    lm = peft.get_base_model()
    ids = _ids(lm.config.vocab_size)
    calls = {"rms_norm": 0, "rope": 0, "silu_mul": 0}

    def counted(name, fn):
        def wrapper(*args):
            calls[name] += 1
            return fn(*args)
        return wrapper

    def rms_norm(x, weight, eps):  # the formula written out instead of F.rms_norm
        xf = x.float()
        return weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)

    def silu_mul(gate, up):
        return gate * torch.sigmoid(gate) * up

    ops = Ops(counted("rms_norm", rms_norm), counted("rope", TORCH_OPS.rope), counted("silu_mul", silu_mul))
    with torch.no_grad():
        want = lora_hidden_states(lm, ids, "default")
        got = lora_hidden_states(lm, ids, "default", ops)
    layers = len(lm.model.layers)
    assert calls == {"rms_norm": 2 * layers + 1, "rope": layers, "silu_mul": layers}
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_liger_kernels_are_refused_on_a_cpu_and_the_torch_ops_stay():
    tokenizer = setup_tokenizer(build_tokenizer())
    model = build_model(tokenizer, seed=0, layers=2, hidden=128)
    trainer = FastLoraTrainer(model, tokenizer, LoraSettings(rank=4, target_modules=list(ALL_LINEAR)))
    assert "CUDA" in trainer.use_kernels("liger")
    assert trainer.kernels == "torch" and trainer.ops is TORCH_OPS
    with pytest.raises(ValueError, match="'torch' or 'liger'"):
        trainer.use_kernels("triton")
