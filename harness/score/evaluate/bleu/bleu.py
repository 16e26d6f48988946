"""harness bleu as an evaluate module (evaluate.load("harness/score/evaluate/bleu"))."""
from harness.score.evaluate._adapter import module_class

Metric = module_class("bleu")
