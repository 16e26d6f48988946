"""harness chrf as an evaluate module (evaluate.load("harness/score/evaluate/chrf"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("chrf")
