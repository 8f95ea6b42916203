"""The task sections' synthetic examples have the lengths the bench's shape names."""
import random

from arcfarm.bench.gpu_bench import bench_tokenizer, synthetic_examples


def test_synthetic_examples_tokenize_to_the_requested_lengths():
    tokenizer = bench_tokenizer()
    examples = synthetic_examples(tokenizer, random.Random(3), 8, 2000, 500)

    def length(text):
        return len(tokenizer.encode(text, add_special_tokens=False))
    for example in examples:
        assert 1990 <= length(example.prompt) <= 2010
        assert 495 <= length(example.response) <= 505
