"""Baseline systems every serious leaderboard shows, as a litellm custom provider.

`baseline/copy` returns the source unchanged (the floor for translation);
`baseline/lead` returns the first N characters or sentences of the source (LEAD, the
classic summarization baseline), N set per task (`lead:` in the task file). Both are
deterministic and read the source and N from the call's extra parameters.
"""

from __future__ import annotations

import re

from litellm import CustomLLM, ModelResponse

SENTENCE = re.compile(r".+?(?:[。!?!?;;]+[”」』\"']?|$)", re.S)


def lead(source: str, unit: str, n: int) -> str:
    if unit == "sentences":
        return "".join(SENTENCE.findall(source.strip())[:n]).strip()
    return source.strip()[:n]


class BaselineProvider(CustomLLM):
    def _answer(self, model: str, optional_params: dict) -> ModelResponse:
        source = optional_params.get("harness_source", "")
        if model == "copy":
            text = source
        else:
            text = lead(source, optional_params.get("harness_lead_unit", "chars"),
                        int(optional_params.get("harness_lead_n", 200)))
        return ModelResponse(model=f"baseline/{model}",
                             choices=[{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": text}}],
                             usage={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                   encoding, api_key, logging_obj, optional_params, *args, **kwargs):
        return self._answer(model, optional_params)

    async def acompletion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                          encoding, api_key, logging_obj, optional_params, *args, **kwargs):
        return self._answer(model, optional_params)
