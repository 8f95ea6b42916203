"""A faster LoRA trainer: `LoraTrainer` with the step rewritten for GPU throughput.

    trainer = FastLoraTrainer(model, tokenizer, LoraSettings(rank=32, target_modules=ALL_LINEAR))

Same batches, same loss (mean cross-entropy over the response tokens of a batch), same recovery
on failure; what changes is how a step runs:
- no attention mask: batches are right-padded and attention is causal, so real tokens never see
  the pads; without a mask SDPA runs its causal flash kernel instead of the masked one;
- the 128k-vocabulary logits are computed only at labelled positions, in chunks of `ce_chunk`
  tokens, each chunk recomputed in backward (checkpointed), so an 8k-token batch never holds its
  full logits, least of all in float32;
- no gradient checkpointing by default; on CUDA out of memory the step is retried with every
  k-th decoder layer checkpointed (k = 4, 2, 1), and that level is remembered for batches as long;
- fused AdamW on CUDA;
- the forward with the LoRA math fused and in the model's dtype (`lora_forward`, `fused=True`,
  the default): bf16 LoRA matmuls against float32 master weights and optimizer state, one
  matmul for the A factors of q/k/v and of gate/up, the scale and add inside the matmul.
  `fused=False` runs peft's own layers (float32 LoRA), the path measured before;
- `use_kernels("liger")` puts Liger Kernel's fused RMSNorm, RoPE and SiLU x up into that forward
  (CUDA only; without them, or on a CPU, the torch ops stay and the reason is returned); a step
  they fail in at run time (Triton cannot build them, say) is run again with the torch ops, which
  stay, with a logged warning (`kernels_note`); `apply_train_kernels` maps a run's
  `train_kernels` setting onto any trainer.
"""
from __future__ import annotations

import functools
import logging

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from arcfarm.learn.lora_forward import TORCH_OPS, lora_hidden_states
from arcfarm.learn.trainer import LoraSettings, LoraTrainer, is_out_of_memory

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_LEVELS = (0, 4, 2, 1)  # checkpoint no layer, every 4th, every 2nd, all
log = logging.getLogger(__name__)


def _chunk_ce(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(F.linear(hidden, weight).float(), labels, reduction="sum")


def chunked_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,
                          chunk: int) -> torch.Tensor:
    """Sum of CE of `hidden [N, H] @ weight^T` against labels [N], `chunk` rows at a time."""
    total = hidden.new_zeros((), dtype=torch.float32)
    for i in range(0, hidden.shape[0], chunk):
        part = (hidden[i:i + chunk], weight, labels[i:i + chunk])
        total = total + (checkpoint(_chunk_ce, *part, use_reentrant=False) if torch.is_grad_enabled()
                         else _chunk_ce(*part))
    return total


class FastLoraTrainer(LoraTrainer):
    def __init__(self, model, tokenizer, settings: LoraSettings, ce_chunk: int = 2048, fused: bool = True):
        super().__init__(model, tokenizer, settings)
        self.ce_chunk = ce_chunk
        # The fused forward is Llama's, without LoRA dropout; anything else runs peft's layers.
        self.fused = fused and settings.dropout == 0 and \
            getattr(self.model.get_base_model().config, "model_type", None) == "llama"
        self._lm = self.model.get_base_model()
        self.ops, self.kernels = TORCH_OPS, "torch"
        self.kernels_min_tokens = 0  # steps of fewer tokens run the torch ops whatever `kernels` says
        self.kernels_note: str | None = None  # why other kernels were given up mid-run, if they were
        self._level_for: dict[int, int] = {}  # batch tokens -> checkpointing level that fits
        self.checkpoint_level = 0
        self._set_checkpointing(4 if settings.gradient_checkpointing else 0)

    def _set_checkpointing(self, every: int) -> None:
        """Checkpoint every `every`-th decoder layer (0 = none)."""
        func = functools.partial(checkpoint, use_reentrant=False)
        for i, layer in enumerate(self._lm.model.layers):
            layer.gradient_checkpointing = every > 0 and i % every == 0
            layer._gradient_checkpointing_func = func
        self.checkpoint_level = every

    def _level(self, tokens: int) -> int:
        fits = [lvl for t, lvl in self._level_for.items() if t <= tokens]
        return max(fits, key=lambda lvl: _LEVELS.index(lvl), default=self.checkpoint_level)

    def _step(self, batch, optimizer, max_grad_norm: float) -> tuple[float, int, int]:
        try:
            return self._step_with_backoff(batch, optimizer, max_grad_norm)
        except Exception as exc:
            # Liger's kernels run in forward and backward, before the optimizer step: a failure
            # of theirs leaves the weights as they were, so the step can run again.
            if self._ops_for(batch[0].numel()) is TORCH_OPS or is_out_of_memory(exc):
                raise
            self.kernels_note = (f"{self.kernels} kernels failed ({type(exc).__name__}: {str(exc)[:300]}); "
                                 "the torch ops took over")
            log.warning(self.kernels_note)
            for p in self._params.values():
                p.grad = None
            self.use_kernels("torch")
            return self._step_with_backoff(batch, optimizer, max_grad_norm)

    def _step_with_backoff(self, batch, optimizer, max_grad_norm: float) -> tuple[float, int, int]:
        input_ids, labels, mask = batch
        tokens = int(input_ids.numel())
        level = self._level(tokens)
        while True:
            self._set_checkpointing(level)
            try:
                return self._fast_step(input_ids, labels, mask, optimizer, max_grad_norm)
            except RuntimeError as exc:
                if not is_out_of_memory(exc):
                    raise
                for p in self._params.values():
                    p.grad = None
                torch.cuda.empty_cache()
                if level == 1:
                    raise
                level = _LEVELS[_LEVELS.index(level) + 1]
                self._level_for[tokens] = level

    def _fast_step(self, input_ids, labels, mask, optimizer, max_grad_norm: float) -> tuple[float, int, int]:
        device = self._device()
        ids, labels = input_ids.to(device), labels.to(device)
        hidden = self._hidden(ids)
        targets = labels[:, 1:]
        picked = targets != -100
        n_labels = int(picked.sum())
        loss = chunked_cross_entropy(hidden[:, :-1][picked], self._lm.lm_head.weight,
                                     targets[picked], self.ce_chunk) / max(n_labels, 1)
        loss.backward()
        if max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(list(self._params.values()), max_grad_norm, foreach=True)
        if self.fault_hook is not None:
            self.fault_hook()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item(), n_labels, int(mask.sum())

    def use_kernels(self, name: str, min_tokens: int = 0) -> str | None:
        """Which elementwise ops the fused forward uses, 'torch' or 'liger' (for steps of at least
        `min_tokens` tokens): None when taken, else why not (the torch ops stay)."""
        if name == "torch":
            self.ops, self.kernels, self.kernels_min_tokens = TORCH_OPS, "torch", 0
            return None
        if name != "liger":
            raise ValueError(f"kernels must be 'torch' or 'liger', not {name!r}")
        if not self.fused:
            return "liger kernels go into the fused forward, which this trainer does not run"
        if self._device().type != "cuda":
            return "liger kernels need CUDA; the torch ops stay"
        if self.kernels_note is not None:  # they failed once in this process: not again
            return self.kernels_note
        try:
            from arcfarm.learn.liger_ops import load_liger_ops
            self.ops = load_liger_ops()
        except ImportError as exc:
            return f"liger kernels unavailable ({exc}); the torch ops stay"
        self.kernels, self.kernels_min_tokens = "liger", min_tokens
        return None

    def _ops_for(self, tokens: int):
        """The elementwise ops a step of `tokens` (padded) tokens runs."""
        return self.ops if tokens >= self.kernels_min_tokens else TORCH_OPS

    def _hidden(self, ids: torch.Tensor) -> torch.Tensor:
        if self.fused:
            return lora_hidden_states(self._lm, ids, self.adapter_name, self._ops_for(ids.numel()))
        return self._lm.model(input_ids=ids, use_cache=False).last_hidden_state

    def _get_optimizer(self, settings: LoraSettings) -> torch.optim.Optimizer:
        if self._optimizer is None or not settings.continue_optimizer:
            fused = self._device().type == "cuda"
            self._optimizer = torch.optim.AdamW(list(self._params.values()), lr=settings.learning_rate,
                                                weight_decay=settings.weight_decay, fused=fused)
        return self._optimizer


# On an H200 Liger's kernels ran a step of one 2,048-token sequence at 0.84x the torch ops' speed
# and steps of one 4,096- or 8,192-token sequence at 1.14x and 1.12x (liger_ab in
# bench/results/gpu-nvidia-h200-2026-12-04.json): auto keeps the torch ops for steps shorter than
# this. Only single sequences were measured on either side; no step of several short rows.
AUTO_LIGER_MIN_TOKENS = 4096


def apply_train_kernels(trainer: LoraTrainer, choice: str) -> str:
    """Set a run's `train_kernels` ('auto', 'torch' or 'liger') on a trainer; returns the kernels
    now in use. auto takes Liger's wherever they load, for steps of at least AUTO_LIGER_MIN_TOKENS
    tokens: on an H200 they trained a round of 90 examples of 1,800-2,500 prompt tokens (packed
    ~7k tokens a step) 1.11x faster and the bench task's training 1.15x (one probe round after
    the torch rounds ran 0.975x). An explicit 'liger' (every step) that cannot load is a
    ValueError saying why; 'auto' falls back to the torch ops."""
    if choice not in ("auto", "torch", "liger"):
        raise ValueError(f"train_kernels must be auto, torch or liger, not {choice!r}")
    use = getattr(trainer, "use_kernels", None)
    if choice == "torch" or (use is None and choice == "auto"):
        if use is not None:
            use("torch")
        return "torch"
    min_tokens = AUTO_LIGER_MIN_TOKENS if choice == "auto" else 0
    why_not = use("liger", min_tokens) if use is not None else \
        "the CPU trainer has no fused forward to put them in"
    if why_not is None:
        return "liger"
    if choice == "liger":
        raise ValueError(f"train_kernels liger: {why_not}")
    return "torch"
