"""harness ter as an evaluate module (evaluate.load("harness/score/evaluate/ter"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("ter")
