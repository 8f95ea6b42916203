"""A Llama-3.1-style chat template (Jinja), for tokenizers that ship without the real one.

It renders what the stock Llama-3.1 instruct template renders for plain text conversations (see
../shared/spec/barc-prompt-format.md, section 5): `<|begin_of_text|>` (the tokenizer's bos_token),
a system block that always opens with the knowledge/today dates, every message's content trimmed,
`<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>` per turn, and the assistant
header as the generation prompt. Tools and images are not supported. Used by tests and by the tiny
test model; real checkpoints use their own template.
"""
from __future__ import annotations

LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if date_string is not defined %}{%- set date_string = '26 Jul 2024' %}{%- endif %}"
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] | trim %}"
    "{%- set messages = messages[1:] %}"
    "{%- else %}{%- set system_message = '' %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
    "{{- 'Cutting Knowledge Date: December 2023\\n' }}"
    "{{- 'Today Date: ' + date_string + '\\n\\n' }}"
    "{{- system_message + '<|eot_id|>' }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{{- message['content'] | trim }}{{- '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
