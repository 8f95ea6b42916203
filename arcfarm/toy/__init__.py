"""A miniature BARC: synthetic induction tasks, a small Llama trained on them, and an evaluation.

primitives.py (grid operations, each written once as program text), inputs.py (random input grids),
synth.py (random compositions -> verified tasks), render.py (program text in the BARC response
format), tokenizer.py + train.py (the model), eval.py (sampling vs search-and-learn). No module here
imports the farm (celery, sqlalchemy, fastapi): the toy model is trained on a bare GPU machine.
"""
