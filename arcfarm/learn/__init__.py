"""Search-and-learn on one task: run config, model loading, sampling engines, LoRA trainers,
hindsight relabeling and the loop. Imports torch/transformers/peft; never Celery or SQL."""
