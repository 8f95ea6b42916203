"""The Solver's one mapping from a RunConfig to LoRA settings and adapter records, and which
configs may share a Solver (the model is wrapped once)."""
from __future__ import annotations

from arcfarm.learn.config import load_config
from arcfarm.learn.engines.hf import HFEngine
from arcfarm.learn.solver import Solver, adapter_lora_config, lora_settings
from arcfarm.learn.trainer import LoraTrainer


def test_lora_settings_and_the_adapter_record_come_from_one_mapping():
    cfg = load_config("tiny-cpu", ["lora_rank=4", "lora_alpha=8", "lora_dropout=0.1",
                                   "use_rslora=false", "lora_target_modules=[q_proj]",
                                   "learning_rate=0.01", "weight_decay=0.1",
                                   "train_batch_tokens=512", "max_seq_len=1024",
                                   "train_epochs_per_round=2", "gradient_checkpointing=true",
                                   "continue_optimizer=true"])
    s = lora_settings(cfg)
    assert (s.rank, s.alpha, s.dropout, s.use_rslora, s.target_modules) == (4, 8.0, 0.1, False, ["q_proj"])
    assert (s.learning_rate, s.weight_decay, s.batch_tokens, s.max_seq_len, s.epochs) == \
        (0.01, 0.1, 512, 1024, 2)
    assert s.gradient_checkpointing and s.continue_optimizer
    assert adapter_lora_config(cfg) == {"lora_rank": 4, "lora_alpha": 8.0, "lora_dropout": 0.1,
                                        "use_rslora": False, "lora_target_modules": ["q_proj"]}


def test_configs_that_keep_the_structure_share_a_solver(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "engine=auto", "exec_workers=1"])
    with Solver(cfg) as solver:
        # engine auto on a model on the CPU: transformers' generate, the plain trainer
        assert type(solver.engine) is HFEngine and type(solver.trainer) is LoraTrainer
        assert solver.engine.batch_size == cfg.sample_batch_size
        assert solver.compatible(cfg.model_copy(update={"learning_rate": 0.5, "seed": 3,
                                                        "sample_batch_size": 2}))
        for key, value in (("lora_rank", 4), ("lora_target_modules", ["q_proj"]),
                           ("exec_timeout_s", 9.0), ("engine", "hf")):
            assert not solver.compatible(cfg.model_copy(update={key: value})), key
