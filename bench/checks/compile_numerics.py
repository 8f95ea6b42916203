"""Is the greedy divergence between the eager and the compiled decode step numerics (flat logits of
a random model) or a bug? Run on a GPU machine from the repository root:
    PYTHONPATH=$PWD python3 bench/checks/compile_numerics.py
Its output of 2026-12-01 (H200) is `numerics_check` in bench/results/gpu-nvidia-h200-2026-12-01.json."""
import random

import torch

from arcfarm.bench import gpu_bench as gb
from arcfarm.learn.engines.base import SamplingParams
from arcfarm.learn.engines.fast import FastEngine

model = gb.build_model(False); tok = gb.bench_tokenizer(); trainer = gb.make_trainer(model, tok)
prompt = gb._prompt(random.Random(0), model.config.vocab_size, 2000)
greedy = SamplingParams(temperature=0.0, max_new_tokens=32)
e = FastEngine(trainer.model, tok, batch_size=128, stop_ids=[], compile_step=False)
c = FastEngine(trainer.model, tok, batch_size=128, stop_ids=[], compile_step=True)
def fd(a, b): return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
e4 = e.generate_ids([prompt], 4, greedy, gb.ADAPTER)[0]
e64 = e.generate_ids([prompt], 64, greedy, gb.ADAPTER)[0]
c4 = c.generate_ids([prompt], 4, greedy, gb.ADAPTER)[0]
c64 = c.generate_ids([prompt], 64, greedy, gb.ADAPTER)[0]
print("eager n=4 vs eager n=64:", fd(e4[0], e64[0]), "compiled n=4 vs n=64:", fd(c4[0], c64[0]),
      "eager vs compiled n=4:", fd(e4[0], c4[0]))
ids = torch.tensor([prompt], device="cuda")
with torch.no_grad():
    hf = trainer.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                max_new_tokens=8, pad_token_id=0)[0, 2000:].tolist()
print("HF generate vs eager:", fd(hf, e4[0]), "HF vs compiled:", fd(hf, c4[0]))
print("hf", hf); print("eager", e4[0][:8]); print("compiled", c4[0][:8])
# How close are the top two logits along the eager path? (flat logits flip on rounding)
with torch.no_grad():
    seq = torch.tensor([prompt + e4[0][:8]], device="cuda")
    lg = trainer.model(input_ids=seq).logits[0, 1999:2007].float()
    top = lg.topk(2, dim=-1).values
print("top1-top2 gaps (logits):", [round(float(g), 4) for g in (top[:, 0] - top[:, 1])],
      "logit std:", round(float(lg.std()), 3))
# The same layer on the same inputs: compiled vs eager vs float32 (relative error of the output)
from arcfarm.learn.engines import fast as F_

st = e._state; lay = e._layers(gb.ADAPTER)[0]; spec = e.spec
x = torch.randn(st.rows, 4096, device="cuda", dtype=torch.bfloat16)
q = torch.randn(st.rows, spec.heads, spec.head_dim, device="cuda", dtype=torch.bfloat16)
st.step.fill_(37)
args = lambda dt: [t.to(dt) if torch.is_tensor(t) and t.is_floating_point() else t for t in
    (x, q, st.pk[0][:, :, :2048], st.pv[0][:, :, :2048], st.prefix_bias[..., :2048], st.sk[0][:, :, :128], st.sv[0][:, :, :128], st.slots[:128] > st.step)]
with torch.no_grad():
    ref = F_._decode_out(*args(torch.float32), tuple((tuple(w.float() for w in g[0]), g[1], None if g[2] is None else g[2].float(), tuple(b.float() for b in g[3]), g[4]) for g in lay.o),
                         lay.ln2.float(), *[tuple((tuple(w.float() for w in g[0]), g[1], None if g[2] is None else g[2].float(), tuple(b.float() for b in g[3]), g[4]) for g in gs) for gs in (lay.gate_up, lay.down)],
                         spec.eps, st.groups, spec.heads, spec.kv_heads, spec.head_dim)
    rest = (lay.o, lay.ln2, lay.gate_up, lay.down, spec.eps, st.groups, spec.heads, spec.kv_heads, spec.head_dim)
    eo = F_._decode_out(*args(torch.bfloat16), *rest).float()
    co = c._decode_out(*args(torch.bfloat16), *rest).float()
rel = lambda a: float((a - ref).norm() / ref.norm())
print("layer output rel. error vs float32: eager", round(rel(eo), 5), "compiled", round(rel(co), 5))
