"""harness script as an evaluate module (evaluate.load("harness/score/evaluate/script"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("script")
