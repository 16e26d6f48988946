"""harness rouge as an evaluate module (evaluate.load("harness/score/evaluate/rouge"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("rouge")
