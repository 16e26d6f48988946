"""harness key_facts as an evaluate module (evaluate.load("harness/score/evaluate/key_facts"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("key_facts")
