"""Every registered metric as a Hugging Face `evaluate` module, loaded offline by path:
`evaluate.load("harness/score/evaluate/rouge")`. One adapter (`_adapter.py`) over the
registry; each folder holds a three-line script naming its family."""
