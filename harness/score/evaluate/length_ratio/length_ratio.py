"""harness length_ratio as an evaluate module (evaluate.load("harness/score/evaluate/length_ratio"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("length_ratio")
