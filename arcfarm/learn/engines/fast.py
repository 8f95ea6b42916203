"""A fast sampling engine for Llama models: shared-prefix attention, static caches, CUDA graphs.

    engine = FastEngine(trainer.model, tokenizer)          # the trainer's PeftModel, or a plain model
    engine.generate(prompts, n=128, params=SamplingParams(), adapter=AdapterRef("default", 3))

Why it is fast (see docs and ../shared/notes/gpu-decode-h100.md for the measurements behind it):
- Each prompt is prefilled once. Its K/V live in one "prefix" buffer per group of samples; every
  decode step computes attention of all the group's queries against that single prefix as one
  batched matmul, and against each sequence's own generated tokens (a static "suffix" cache),
  then merges the two softmax parts with their log-sum-exps. The prompt is never copied n times.
- The decode step (our own Llama forward on the HF model's weights: embed, RMSNorm, rotary from
  the model's `rotary_emb` so llama3 rope scaling is right, GQA, SwiGLU, lm_head) has static
  shapes; on CUDA it is captured once per (batch shape, prefix bucket, suffix bucket, sampling
  knobs) into a `torch.cuda.CUDAGraph` and replayed, so kernel launches cost nothing.
- LoRA stays unmerged: each linear is `x W^T + s (x A^T) B^T`, reading peft's `lora_A`/`lora_B`
  weight tensors of the active adapter directly. The trainer updates those tensors in place, so a
  captured graph sees the new values; if the tensors themselves change (a new adapter) the
  graphs are captured again (`_layers`).
- Temperature and top-p run on the GPU inside the graph; the draw is the exponential race
  (argmax p_i / E_i, E_i ~ Exp(1)), which samples i with probability p_i without a host sync.
- The layer's step is two pure functions of tensors (`_decode_in`, `_decode_out`; the cache write
  between them stays eager), compiled with `torch.compile` on CUDA so the graph replays fused
  kernels. Shapes come from few buckets (prefix: `prefix_bucket`, suffix: `suffix_bucket`
  tokens), so a long run compiles a bounded number of graphs; a shape whose compile fails (no
  compiler, the recompile limit, anything) decodes eagerly, with one warning, and the loop
  records it on the epoch row (`take_note`; see compile_guard.py).
- Finished sequences keep decoding (their tokens are cut afterwards); the host checks every
  `check_every` steps whether all are finished and stops early.

On the CPU (tests) the same step runs eagerly, so greedy output can be compared token for token
with `model.generate`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from arcfarm.learn.engines.base import AdapterRef, Completion, Engine, SamplingParams
from arcfarm.learn.engines.compile_guard import RECOMPILE_LIMIT, CompileGuard
from arcfarm.learn.engines.row_noise import gumbel_scores, row_seeds

PREFIX_BUCKET = 256  # prefix attention spans the longest prompt of a batch rounded up to a bucket
SUFFIX_BUCKET = 128  # one graph per 128 generated tokens: attention spans only what exists


def prefix_bucket(length: int) -> int:
    """Steps of PREFIX_BUCKET up to 2,048 tokens, then four per doubling (at most 25% padding):
    prompts of any length share a few shapes, so compiled and captured graphs stay few."""
    if length <= 8 * PREFIX_BUCKET:
        return max(1, math.ceil(length / PREFIX_BUCKET)) * PREFIX_BUCKET
    step = 1 << (length.bit_length() - 3)
    return math.ceil(length / step) * step


# A group: linears that read the same input (q/k/v, gate/up, or one alone), as a plain tuple
# (weights, biases, a, bs, scales) of tensors and floats, so that a compiled decode step takes it
# as an input and one compiled graph serves every layer. Their LoRA A factors are stacked in one
# buffer `a` [sum r_j, in] so one matmul serves all of them: y_j = x W_j^T + s_j (x A^T)[:, j] B_j^T.
# `a` is None without an adapter; `a` and `bs` are model-dtype shadows (see _Lora).
Groups = tuple  # of group tuples


def _run_groups(groups: Groups, x: torch.Tensor) -> list[torch.Tensor]:
    out = []
    for weights, biases, a, bs, scales in groups:
        ys = [F.linear(x, w, b) for w, b in zip(weights, biases)]
        if a is None:
            out.extend(ys)
            continue
        h = F.linear(x, a)
        at = 0
        for y, b, scale in zip(ys, bs, scales):
            r = b.shape[1]
            out.append(torch.addmm(y, h[:, at:at + r], b.t(), alpha=scale))
            at += r
    return out


@dataclass
class _Layer:
    ln1: torch.Tensor
    ln2: torch.Tensor
    qkv: Groups
    o: Groups
    gate_up: Groups
    down: Groups


class _Lora:
    """Model-dtype shadows of one adapter's LoRA factors at fixed addresses, refreshed from
    peft's tensors (one fused copy) at the start of every generate call: the captured graphs
    read the shadows, so whatever the trainer wrote in place is what the next call samples with.
    B factors already in the model's dtype are read directly, no shadow."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []  # (shadow view, peft tensor)

    def stacked_a(self, sources: list[torch.Tensor]) -> torch.Tensor:
        buf = torch.empty(sum(a.shape[0] for a in sources), sources[0].shape[1],
                          device=sources[0].device, dtype=self.dtype)
        at = 0
        for a in sources:
            self.pairs.append((buf[at:at + a.shape[0]], a))
            at += a.shape[0]
        return buf

    def b(self, source: torch.Tensor) -> torch.Tensor:
        if source.dtype == self.dtype:
            return source
        shadow = torch.empty_like(source, dtype=self.dtype)
        self.pairs.append((shadow, source))
        return shadow

    def refresh(self) -> None:
        if self.pairs:
            with torch.no_grad():
                torch._foreach_copy_([s for s, _ in self.pairs], [t for _, t in self.pairs])


def _is_peft(model) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


def _lora_factors(module, adapter: str | None):
    """(A, B, scale) of `adapter` in a peft LoRA layer, or None (no adapter, not LoRA, merged)."""
    if adapter is None or not hasattr(module, "lora_A") or getattr(module, "merged", False) \
            or adapter not in module.lora_A:
        return None
    if getattr(module, "use_dora", {}).get(adapter, False):
        raise NotImplementedError("FastEngine does not support DoRA adapters")
    return module.lora_A[adapter].weight, module.lora_B[adapter].weight, float(module.scaling[adapter])


class _Split(Exception):
    """Some linears of a group have the adapter and some do not: group them one by one."""


def _group(modules: list, adapter: str | None, lora: _Lora) -> tuple:
    bases = [getattr(m, "base_layer", m) for m in modules]
    weights, biases = tuple(b.weight for b in bases), tuple(b.bias for b in bases)
    factors = [_lora_factors(m, adapter) for m in modules]
    if all(f is not None for f in factors):
        return (weights, biases, lora.stacked_a([f[0] for f in factors]),
                tuple(lora.b(f[1]) for f in factors), tuple(f[2] for f in factors))
    if any(f is not None for f in factors):
        raise _Split()
    return weights, biases, None, (), ()


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Llama's RMSNorm (normalise in float32, cast back, then scale) with the fused kernel."""
    return weight * F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [..., heads, D]; cos/sin broadcastable [..., 1, D] (HF's rotate_half convention)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def _sample(logits: torch.Tensor, temperature: float, top_p: float,
            generator: torch.Generator | None = None, seeds: torch.Tensor | None = None,
            step: int | torch.Tensor = 0) -> torch.Tensor:
    """One token per row of float32 logits [B, V]: greedy when temperature <= 0, else
    temperature + top-p (as transformers' TopPLogitsWarper) and the exponential race; with
    `seeds` (one per row) each row's noise is its own (`row_noise`), at generated token `step`."""
    if temperature <= 0:
        return logits.argmax(-1)
    if seeds is not None:
        return gumbel_scores(logits, temperature, top_p, seeds, step).argmax(-1)
    logits = logits / temperature
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative <= (1.0 - top_p)
        drop[:, -1] = False  # always keep the most likely token
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    probs = logits.softmax(-1)
    race = torch.empty_like(probs).exponential_(generator=generator)
    return (probs / race).argmax(-1)


class _State:
    """Static buffers of one batch shape: G groups (prompts) x m samples, B = G*m rows."""

    def __init__(self, spec: "_ModelSpec", groups: int, per_group: int, prefix_cap: int,
                 suffix_cap: int, device, dtype):
        G, m, kvh, d = groups, per_group, spec.kv_heads, spec.head_dim
        B = G * m
        self.groups, self.per_group, self.rows = G, m, B
        self.prefix_cap, self.suffix_cap = prefix_cap, suffix_cap
        z = dict(device=device, dtype=dtype)
        self.pk = [torch.zeros(G, kvh, prefix_cap, d, **z) for _ in range(spec.layers)]
        self.pv = [torch.zeros(G, kvh, prefix_cap, d, **z) for _ in range(spec.layers)]
        self.sk = [torch.zeros(B, kvh, suffix_cap, d, **z) for _ in range(spec.layers)]
        self.sv = [torch.zeros(B, kvh, suffix_cap, d, **z) for _ in range(spec.layers)]
        self.prefix_bias = torch.zeros(G, 1, 1, prefix_cap, device=device)  # 0 or -inf per slot
        self.pos_base = torch.zeros(B, dtype=torch.long, device=device)  # prompt length per row
        self.tokens = torch.zeros(B, dtype=torch.long, device=device)  # the token being fed
        self.step = torch.zeros(1, dtype=torch.long, device=device)  # its slot in the suffix
        self.out = torch.zeros(B, suffix_cap, dtype=torch.long, device=device)
        self.finished = torch.zeros(B, dtype=torch.bool, device=device)
        self.row_seeds = torch.zeros(B, dtype=torch.long, device=device)  # params.prompt_seeds
        self.slots = torch.arange(suffix_cap, device=device)
        self.graphs: dict[tuple, torch.cuda.CUDAGraph] = {}
        self.pool = torch.cuda.graph_pool_handle() if device.type == "cuda" else None  # dies with it


@dataclass
class _ModelSpec:
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    eps: float


class FastEngine(Engine):
    """An `Engine` for Llama-architecture models (HF `LlamaForCausalLM`, or a peft wrapper
    around one). `batch_size` rows are decoded together. Caches and graphs are kept between
    calls (`release`). Out of memory is raised; the loop decides what to do (halve the batch)."""

    def __init__(self, model, tokenizer, batch_size: int = 128, use_cuda_graphs: bool = True,
                 stop_ids: list[int] | None = None, check_every: int = 16,
                 suffix_bucket: int = SUFFIX_BUCKET, compile_step: bool | None = None,
                 compile_backend="inductor", recompile_limit: int = RECOMPILE_LIMIT):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.check_every = check_every
        self.suffix_bucket = suffix_bucket
        if stop_ids is None:
            from arcfarm.learn.model import stop_token_ids
            stop_ids = stop_token_ids(tokenizer)
        self.stop_ids = list(stop_ids)
        lm = model.get_base_model() if _is_peft(model) else model
        self._lm, self._core = lm, lm.model
        cfg = lm.config
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.spec = _ModelSpec(cfg.num_hidden_layers, cfg.num_attention_heads,
                               cfg.num_key_value_heads, head_dim, cfg.rms_norm_eps)
        self.device = lm.lm_head.weight.device
        self.dtype = lm.lm_head.weight.dtype
        self.use_graphs = use_cuda_graphs and self.device.type == "cuda"
        self._stop = torch.tensor(self.stop_ids or [-1], device=self.device)
        self._state: _State | None = None
        self._rope_cap = 0
        self._cos = self._sin = None
        self._signature: tuple | None = None  # (adapter name, its LoRA tensors' addresses)
        self._views: dict[tuple, tuple[list[_Layer], _Lora]] = {}
        self._pending_seed: int | None = None
        self.last_stats: dict = {}
        # The layer's decode step, eager or compiled: Inductor fuses its ~60 small kernels, 1.39-1.47x
        # tokens/s on an H200 at n=8..128 (bench/results/gpu-nvidia-h200-*.json, key `compiled`).
        # None = compile on CUDA only (on the CPU Inductor's C++ build costs more than it saves).
        # Compiling happens at the first capture of each new shape; the graphs are ours either way.
        self._guard = CompileGuard((_decode_in, _decode_out), backend=compile_backend,
                                   enabled=bool(self.use_graphs if compile_step is None else compile_step),
                                   recompile_limit=recompile_limit)

    @property
    def compiled(self) -> bool:
        """Whether the decode step is compiled (shapes that failed to compile run eagerly)."""
        return self._guard.enabled

    @property
    def compile_error(self) -> str | None:
        """The first compile failure in this engine, or None."""
        return self._guard.first_error

    def compile_stats(self) -> dict:
        """{compiled_shapes, fallbacks, first_error} of the decode step so far."""
        return self._guard.stats()

    def take_note(self) -> str | None:
        return self._guard.take_note()

    # --- public API ------------------------------------------------------------------------------

    def generate(self, prompts: list[str], n: int, params: SamplingParams,
                 adapter: AdapterRef | None = None, *,
                 batch_size: int | None = None) -> list[list[Completion]]:
        encoded = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        token_lists = self.generate_ids(encoded, n, params, adapter, batch_size=batch_size)
        return [[self._completion(ids, len(p)) for ids in rows] for p, rows in zip(encoded, token_lists)]

    def generate_ids(self, prompt_ids: list[list[int]], n: int, params: SamplingParams,
                     adapter: AdapterRef | None = None, *,
                     batch_size: int | None = None) -> list[list[list[int]]]:
        """`n` lists of generated token ids per prompt (each ends at its first stop token, kept)."""
        layers = self._layers(adapter)
        self._pending_seed = params.seed  # applied after graph capture (warm-ups draw numbers)
        with torch.no_grad():
            return self._generate_all(prompt_ids, n, params, layers, batch_size or self.batch_size)

    def release(self) -> None:
        """Free the caches and graphs (e.g. before training on long sequences)."""
        self._state = None
        self._views.clear()  # shadows of the LoRA factors
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # --- model view ------------------------------------------------------------------------------

    def _layers(self, adapter: AdapterRef | None) -> list[_Layer]:
        """The layer view for `adapter` (None = base model), its LoRA shadows refreshed now."""
        name = self._adapter_name(adapter)
        sources = []
        if name is not None:
            sources = [t.data_ptr() for m in self._lm.modules() if _lora_factors(m, name) is not None
                       for t in _lora_factors(m, name)[:2]]
        signature = (name, tuple(sources))
        if signature not in self._views:
            if len(self._views) >= 2:  # the base view and one adapter's; drop stale ones
                self._views.clear()
                if self._state is not None:
                    self._state.graphs.clear()
            self._views[signature] = self._build_layers(name)
        layers, lora = self._views[signature]
        lora.refresh()
        self._signature = signature
        return layers

    def _adapter_name(self, adapter: AdapterRef | None) -> str | None:
        if adapter is None:
            return None
        if not _is_peft(self.model):
            raise ValueError(f"adapter {adapter.name!r} requested but the model has no LoRA")
        if adapter.name in self.model.peft_config:
            return adapter.name
        active = getattr(self.model, "active_adapters", None) or [self.model.active_adapter]
        return active[0]

    def _build_layers(self, name: str | None) -> tuple[list[_Layer], _Lora]:
        lora = _Lora(self.dtype)

        def groups(modules):
            try:
                return (_group(modules, name, lora),)
            except _Split:
                return tuple(_group([m], name, lora) for m in modules)
        layers = []
        for layer in self._core.layers:
            att, mlp = layer.self_attn, layer.mlp
            layers.append(_Layer(layer.input_layernorm.weight, layer.post_attention_layernorm.weight,
                                 groups([att.q_proj, att.k_proj, att.v_proj]), groups([att.o_proj]),
                                 groups([mlp.gate_proj, mlp.up_proj]), groups([mlp.down_proj])))
        return layers, lora

    def _rope_table(self, positions: int) -> None:
        """cos/sin for positions [0, positions) from the model's own rotary module (rope scaling)."""
        if positions <= self._rope_cap:
            return
        cap = max(positions, 4096)
        cap = 1 << (cap - 1).bit_length()
        probe = torch.zeros(1, device=self.device, dtype=self.dtype)
        pos = torch.arange(cap, device=self.device)[None]
        cos, sin = self._core.rotary_emb(probe, pos)
        self._cos, self._sin = cos[0].contiguous(), sin[0].contiguous()
        self._rope_cap = cap
        if self._state is not None:
            self._state.graphs.clear()  # graphs read the old table

    # --- batching --------------------------------------------------------------------------------

    def _generate_all(self, prompt_ids, n, params, layers, batch_size: int) -> list[list[list[int]]]:
        chunks = math.ceil(n / batch_size)
        m = math.ceil(n / chunks)  # equal chunks of at most batch_size samples of one prompt
        items = [(p, min(m, n - c * m)) for p in range(len(prompt_ids)) for c in range(chunks)]
        groups = max(1, min(batch_size // m, len(items)))
        results: list[list[list[int]]] = [[] for _ in prompt_ids]
        self.last_stats = {"decode_steps": 0, "batches": 0, "prefill_s": 0.0}
        seeds = None
        if params.prompt_seeds is not None:
            if len(params.prompt_seeds) != len(prompt_ids):
                raise ValueError(f"prompt_seeds: {len(params.prompt_seeds)} seeds for {len(prompt_ids)} prompts")
            seeds = row_seeds(params.prompt_seeds, n)  # prompt-major: prompt p's sample j at p*n + j
        for start in range(0, len(items), groups):
            batch = items[start:start + groups]
            batch_seeds = None
            if seeds is not None:  # item k of prompt p is its chunk (k % chunks): samples c*m ..
                batch_seeds = [seeds[p * n + ((start + k) % chunks) * m + r] if r < need else 0
                               for k, (p, need) in enumerate(batch) for r in range(m)]
                batch_seeds += [0] * ((groups - len(batch)) * m)
            rows = self._run_batch([prompt_ids[p] for p, _ in batch], groups, m, params, layers, batch_seeds)
            for g, (p, need) in enumerate(batch):
                results[p].extend(rows[g * m:g * m + need])
        return results

    def _get_state(self, groups: int, m: int, prefix_len: int, new_tokens: int) -> _State:
        st = self._state
        suffix_cap = math.ceil(new_tokens / self.suffix_bucket) * self.suffix_bucket
        prefix_cap = prefix_bucket(prefix_len)
        if st is None or st.groups != groups or st.per_group != m or st.prefix_cap < prefix_cap \
                or st.suffix_cap < suffix_cap:
            if st is not None:
                prefix_cap, suffix_cap = max(prefix_cap, st.prefix_cap), max(suffix_cap, st.suffix_cap)
            self._state = st = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            st = _State(self.spec, groups, m, prefix_cap, suffix_cap, self.device, self.dtype)
            self._state = st
        return st

    def _run_batch(self, prompts: list[list[int]], groups: int, m: int, params: SamplingParams,
                   layers: list[_Layer], seeds: list[int] | None = None) -> list[list[int]]:
        real = len(prompts)
        prompts = prompts + [prompts[0]] * (groups - real)  # pad the last batch to the graph shape
        longest = max(len(p) for p in prompts)
        new = params.max_new_tokens
        st = self._get_state(groups, m, longest, new)
        self._rope_table(longest + st.suffix_cap + 1)
        pb = min(st.prefix_cap, prefix_bucket(longest))
        buckets = math.ceil(max(new - 1, 1) / self.suffix_bucket)
        if self.use_graphs:
            for b in range(buckets):
                self._capture(st, layers, pb, (b + 1) * self.suffix_bucket, params)
        if self._pending_seed is not None:
            torch.manual_seed(self._pending_seed)
            self._pending_seed = None
        if seeds is not None:
            st.row_seeds.copy_(torch.tensor(seeds, dtype=torch.long))
        first = self._prefill_all(st, prompts, m, layers, params)
        st.tokens.copy_(first)
        st.out[:, 0].copy_(first)
        st.step.zero_()
        pad_rows = torch.arange(st.rows, device=self.device) >= real * m
        st.finished.copy_(torch.isin(first, self._stop) | pad_rows)
        produced = 1
        for t in range(new - 1):
            sb = (t // self.suffix_bucket + 1) * self.suffix_bucket
            if self.use_graphs:
                st.graphs[self._key(st, pb, sb, params)].replay()
            else:
                self._step(st, layers, pb, sb, params)
            produced += 1
            if produced % self.check_every == 0 and bool(st.finished.all()):
                break
        self.last_stats["decode_steps"] += produced - 1
        self.last_stats["batches"] += 1
        out = st.out[:real * m, :produced].tolist()
        return [self._cut(row) for row in out]

    def _cut(self, ids: list[int]) -> list[int]:
        stops = set(self.stop_ids)
        end = next((i + 1 for i, t in enumerate(ids) if t in stops), len(ids))
        return ids[:end]

    def _completion(self, ids: list[int], prompt_tokens: int) -> Completion:
        stopped = bool(ids) and ids[-1] in set(self.stop_ids)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=len(ids),
                          finish_reason="stop" if stopped else "length")

    # --- CUDA graphs -----------------------------------------------------------------------------

    def _key(self, st: _State, pb: int, sb: int, params: SamplingParams) -> tuple:
        return (self._signature, pb, min(sb, st.suffix_cap), float(params.temperature), float(params.top_p),
                params.prompt_seeds is not None)

    def _capture(self, st: _State, layers, pb: int, sb: int, params: SamplingParams) -> None:
        key = self._key(st, pb, sb, params)
        if key in st.graphs:
            return
        # Warm up on a side stream (allocator, cuBLAS handles), then capture. The warm-up writes
        # junk into the state's token/step buffers; _run_batch sets them afterwards.
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            st.step.zero_()
            self._step(st, layers, pb, key[1], params)
            st.step.zero_()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=st.pool):
            self._step(st, layers, pb, key[1], params)
        st.graphs[key] = graph

    # --- the forward passes ----------------------------------------------------------------------

    def _prefill_all(self, st: _State, prompts, m: int, layers, params) -> torch.Tensor:
        """Prefill each prompt into its group's prefix slots; first tokens for every row [B]."""
        import time
        t0 = time.perf_counter()
        firsts = []
        st.prefix_bias.fill_(float("-inf"))
        for g, ids in enumerate(prompts):
            logits = self._prefill(st, g, ids, layers)
            st.prefix_bias[g, ..., :len(ids)] = 0.0
            st.pos_base[g * m:(g + 1) * m] = len(ids)
            seeds = st.row_seeds[g * m:(g + 1) * m] if params.prompt_seeds is not None else None
            firsts.append(_sample(logits.expand(m, -1), params.temperature, params.top_p, seeds=seeds))
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.last_stats["prefill_s"] += time.perf_counter() - t0
        return torch.cat(firsts)

    def _prefill(self, st: _State, g: int, ids: list[int], layers: list[_Layer]) -> torch.Tensor:
        """Causal forward of one prompt; writes its K/V to group g's prefix; last logits [1, V]."""
        spec = self.spec
        T = len(ids)
        tokens = torch.tensor(ids, device=self.device)
        x = F.embedding(tokens, self._core.embed_tokens.weight)  # [T, hidden]
        cos, sin = self._cos[:T, None, :], self._sin[:T, None, :]
        for i, lay in enumerate(layers):
            q, k, v = _project_qkv(lay.qkv, _rms_norm(x, lay.ln1, spec.eps), cos, sin,
                                   spec.heads, spec.kv_heads, spec.head_dim)
            st.pk[i][g, :, :T] = k.transpose(0, 1)
            st.pv[i][g, :, :T] = v.transpose(0, 1)
            att = F.scaled_dot_product_attention(q.transpose(0, 1)[None], st.pk[i][g:g + 1, :, :T],
                                                 st.pv[i][g:g + 1, :, :T], is_causal=True,
                                                 enable_gqa=True)
            x = x + _run_groups(lay.o, att[0].transpose(0, 1).reshape(T, -1))[0]
            x = x + _mlp(lay.gate_up, lay.down, _rms_norm(x, lay.ln2, spec.eps))
        last = _rms_norm(x[-1:], self._core.norm.weight, spec.eps)
        return F.linear(last, self._lm.lm_head.weight).float()

    def _step(self, st: _State, layers: list[_Layer], pb: int, sb: int, params: SamplingParams) -> None:
        """One decode step for every row: feed st.tokens at slot st.step, sample the next token.
        A shape whose compile fails (no C compiler for Triton's launcher, the recompile limit, ...)
        must not fail the job: that shape decodes eagerly from then on. Its first step (a warm-up,
        before any capture) compiles; a step stopped part-way is safe to redo (it only rewrites
        slot st.step)."""
        key = (st.groups, st.per_group, pb, min(sb, st.suffix_cap), self._signature)
        fns = self._guard.functions(key)
        try:
            with self._guard.limits():
                self._step_once(st, layers, pb, sb, params, fns)
            self._guard.succeeded(key)
        except Exception as exc:
            fns = self._guard.fell_back(key, exc)  # re-raises what is not a compile failure
            self._step_once(st, layers, pb, sb, params, fns)

    def _step_once(self, st: _State, layers: list[_Layer], pb: int, sb: int, params: SamplingParams,
                   fns: tuple) -> None:
        decode_in, decode_out = fns
        spec = self.spec
        H, kvh, d = spec.heads, spec.kv_heads, spec.head_dim
        sb = min(sb, st.suffix_cap)
        pos = st.pos_base + st.step
        cos, sin = self._cos[pos][:, None, :], self._sin[pos][:, None, :]
        future = st.slots[:sb] > st.step  # suffix slots not written yet
        x = F.embedding(st.tokens, self._core.embed_tokens.weight)  # [B, hidden]
        for i, lay in enumerate(layers):
            q, k, v = decode_in(x, lay.ln1, lay.qkv, cos, sin, spec.eps, H, kvh, d)
            st.sk[i].index_copy_(2, st.step, k[:, :, None])
            st.sv[i].index_copy_(2, st.step, v[:, :, None])
            x = decode_out(x, q, st.pk[i][:, :, :pb], st.pv[i][:, :, :pb], st.prefix_bias[..., :pb],
                                 st.sk[i][:, :, :sb], st.sv[i][:, :, :sb], future,
                                 lay.o, lay.ln2, lay.gate_up, lay.down, spec.eps, st.groups, H, kvh, d)
        x = _rms_norm(x, self._core.norm.weight, spec.eps)
        logits = F.linear(x, self._lm.lm_head.weight).float()
        seeds = st.row_seeds if params.prompt_seeds is not None else None
        nxt = _sample(logits, params.temperature, params.top_p, seeds=seeds, step=st.step + 1)
        nxt = torch.where(st.finished, st.tokens, nxt)  # finished rows repeat a stop token
        st.step.add_(1)
        st.out.index_copy_(1, st.step, nxt[:, None])
        st.tokens.copy_(nxt)
        st.finished.logical_or_(torch.isin(nxt, self._stop))


# --- one layer of a decode step, as pure functions of tensors -------------------------------------
# Split at the cache write (done by the caller in place) so that a compiled version never mutates
# its inputs; everything else of the layer is in these two functions.

def _project_qkv(qkv: Groups, h: torch.Tensor, cos, sin, heads: int, kvh: int, d: int):
    """q [N, H, D], k and v [N, kvh, D] with rotary applied to q and k in one pass."""
    q, k, v = _run_groups(qkv, h)
    N = h.shape[0]
    qk = _rope(torch.cat((q, k), -1).view(N, heads + kvh, d), cos, sin)
    return qk[:, :heads], qk[:, heads:], v.view(N, kvh, d)


def _mlp(gate_up: Groups, down: Groups, h: torch.Tensor) -> torch.Tensor:
    gate, up = _run_groups(gate_up, h)
    return _run_groups(down, F.silu(gate) * up)[0]


def _decode_in(x, ln1, qkv: Groups, cos, sin, eps: float, heads: int, kvh: int, d: int):
    return _project_qkv(qkv, _rms_norm(x, ln1, eps), cos, sin, heads, kvh, d)


def _decode_out(x, q, pk, pv, prefix_bias, sk, sv, future, o: Groups, ln2, gate_up: Groups,
                down: Groups, eps: float, groups: int, heads: int, kvh: int, d: int) -> torch.Tensor:
    att = _shared_prefix_attention(q, pk, pv, prefix_bias, sk, sv, future, groups, heads, kvh, d)
    x = x + _run_groups(o, att)[0]
    return x + _mlp(gate_up, down, _rms_norm(x, ln2, eps))


def _shared_prefix_attention(q, pk, pv, prefix_bias, sk, sv, future, G: int, heads: int, kvh: int,
                             d: int) -> torch.Tensor:
    """Attention of q [B, H, D] over its group's shared prefix pk/pv [G, kvh, pb, D] and the row's
    own suffix sk/sv [B, kvh, sb, D] (`future` [sb] masks the slots not written yet), merged by
    log-sum-exp; returns [B, H*D]."""
    B = q.shape[0]
    m, g = B // G, heads // kvh
    scale = 1.0 / math.sqrt(d)
    # Prefix: per group and kv head, all m*g queries against the one prefix: [G, kvh, m*g, pb].
    qp = q.view(G, m, kvh, g, d).permute(0, 2, 1, 3, 4).reshape(G, kvh, m * g, d)
    s1 = torch.matmul(qp, pk.transpose(-1, -2)).float() * scale + prefix_bias
    m1 = s1.amax(-1, keepdim=True)
    e1 = torch.exp(s1 - m1)
    l1 = e1.sum(-1, keepdim=True)
    o1 = torch.matmul(e1.to(q.dtype), pv)  # unnormalised [G, kvh, m*g, d]

    def rows(t):  # back to row layout [B, kvh, g, *]
        return t.view(G, kvh, m, g, t.shape[-1]).permute(0, 2, 1, 3, 4).reshape(B, kvh, g, t.shape[-1])
    o1, m1, l1 = rows(o1), rows(m1), rows(l1)
    # Suffix: each row's own generated tokens.
    qs = q.view(B, kvh, g, d)
    s2 = torch.matmul(qs, sk.transpose(-1, -2)).float() * scale
    s2 = s2.masked_fill(future, float("-inf"))
    m2 = s2.amax(-1, keepdim=True)
    e2 = torch.exp(s2 - m2)
    l2 = e2.sum(-1, keepdim=True)
    o2 = torch.matmul(e2.to(q.dtype), sv)
    # Merge the two softmax parts.
    mx = torch.maximum(m1, m2)
    a1, a2 = torch.exp(m1 - mx), torch.exp(m2 - mx)
    out = (o1.float() * a1 + o2.float() * a2) / (l1 * a1 + l2 * a2)
    return out.to(q.dtype).reshape(B, heads * d)
