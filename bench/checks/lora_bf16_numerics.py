"""Is the gap between the fused bf16 LoRA path and peft's float32 LoRA path (issue 17: on the H200,
8B shape, 2,048 tokens, LoRA gradients differ by 12% median, `numerics` in
bench/results/gpu-nvidia-h200-2026-12-02.json) a bug or bf16 rounding? Both paths against the
same model run wholly in float32, on the CPU, a random Llama of LAYERS layers (bf16 base weights,
float32 LoRA factors, as on the GPU):
    .venv/bin/python bench/checks/lora_bf16_numerics.py 16 512     # layers, tokens (~1.5 min)
2026-12-02, 16 layers, hidden 256, 512 tokens: peft bf16 vs fp32 median 0.166 (max 0.243),
fused bf16 vs fp32 median 0.164 (max 0.246), fused vs peft median 0.111 (max 0.167); losses
8.3855 (peft), 8.3908 (fused), 8.3814 (fp32). Same size of gap as on the GPU, and the fused path
is no further from float32 than peft's: the bf16 base layers' rounding dominates."""
import copy
import statistics
import sys

import torch
from peft import LoraConfig, get_peft_model

from arcfarm.learn.fast_train import ALL_LINEAR, chunked_cross_entropy
from arcfarm.learn.lora_forward import lora_hidden_states
from arcfarm.learn.model import setup_tokenizer
from arcfarm.learn.tiny_model import build_model, build_tokenizer

layers, T = int(sys.argv[1]), int(sys.argv[2])
tok = setup_tokenizer(build_tokenizer())
base = build_model(tok, seed=0, layers=layers, hidden=256).to(torch.bfloat16)
peft = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, use_rslora=True, target_modules=ALL_LINEAR))
gen = torch.Generator().manual_seed(1)
with torch.no_grad():
    for name, p in peft.named_parameters():
        if p.requires_grad:
            p.data = p.data.float()
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.01)
ids = torch.randint(3, base.config.vocab_size, (1, T), generator=torch.Generator().manual_seed(2))


def loss_and_grads(model, forward):
    model.train()
    model.zero_grad(set_to_none=True)
    lm = model.get_base_model()
    loss = chunked_cross_entropy(forward(lm)[0, :-1], lm.lm_head.weight, ids[0, 1:], 4096) / (T - 1)
    loss.backward()
    return loss.item(), {n: p.grad.float().clone() for n, p in model.named_parameters() if p.requires_grad}


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


lp, gp = loss_and_grads(peft, lambda lm: lm.model(input_ids=ids, use_cache=False).last_hidden_state)
lf, gf = loss_and_grads(peft, lambda lm: lora_hidden_states(lm, ids, "default"))
lr, gr = loss_and_grads(copy.deepcopy(peft).float(),
                        lambda lm: lm.model(input_ids=ids, use_cache=False).last_hidden_state)
for name, grads, ref in (("peft bf16 vs fp32", gp, gr), ("fused bf16 vs fp32", gf, gr), ("fused vs peft", gf, gp)):
    r = [rel(grads[n], ref[n]) for n in ref]
    print(f"{name}: median {statistics.median(r):.3g}, max {max(r):.3g}")
print(f"loss: peft {lp:.4f}, fused {lf:.4f}, fp32 {lr:.4f}")
