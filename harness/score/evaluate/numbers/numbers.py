"""harness numbers as an evaluate module (evaluate.load("harness/score/evaluate/numbers"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("numbers")
