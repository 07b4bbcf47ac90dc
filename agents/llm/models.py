"""Hugging Face pieces built locally, with no download: the task's tokenizer, a tiny Llama-style causal LM, the
answer head that makes the model's policy the k answer tokens, and teacher-forced log-probabilities of answers.

The answer head is a frozen bias on the LM head: 0 on the k answer tokens, ``MASK_LOGIT`` elsewhere. It is part of
the head's weights, so every path that computes logits sees it: ``generate`` (through ``forward``) and TRL's
fused log-probability head (which multiplies by ``lm_head.weight`` and adds ``lm_head.bias`` without calling
``forward``; a logits processor or a forward hook would be missed there). In float32, exp(MASK_LOGIT) is 0, so
the sampled policy and the one TRL optimises are both softmax over the answer tokens' logits.

The restriction is saved with the model: ``constrain_to_answers`` records the answer ids in the model's config
(``config.answer_ids``, written to ``config.json``), and ``tiny_causal_lm`` builds an ``AnswerHeadLlamaForCausalLM``
(registered with transformers' Auto classes as model type ``seqreward_llama`` when this module is imported) whose
constructor puts the head back from the config. So ``save_pretrained``/``from_pretrained``, TRL's ``model=<path>``
and the reference model TRL builds from that path all carry it. Any other architecture is reloaded restricted by
``load_answer_model``. ``check_answer_head`` refuses a model whose head does not restrict to an encoding's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from agents.llm.encoding import EOS, PAD, PromptEncoding

# The logit of every non-answer token: far below any logit a trained model reaches, yet finite (no inf - inf).
MASK_LOGIT = -1.0e4
# The config attribute that carries the answer ids through save_pretrained/from_pretrained.
ANSWER_IDS = "answer_ids"


class AnswerHeadLlamaConfig(LlamaConfig):
    """``LlamaConfig`` with ``answer_ids``: the token ids the LM head restricts to (None: no restriction)."""

    model_type = "seqreward_llama"
    # No remote code (an empty map): TRL's loader reads ``auto_map`` for architectures transformers does not export.
    auto_map = ()  # empty, immutable, and not a config field (not saved)

    def __init__(self, answer_ids: list[int] | None = None, **kwargs: object) -> None:
        self.answer_ids = None if answer_ids is None else [int(i) for i in answer_ids]
        super().__init__(**kwargs)  # type: ignore[arg-type]


class AnswerHeadLlamaForCausalLM(LlamaForCausalLM):
    """A Llama causal LM whose LM head carries the answer head of ``config.answer_ids`` from construction on, so
    that ``from_pretrained`` (and anything that loads by path: TRL's ``model=<path>`` and its reference model)
    gives the restricted model back."""

    config_class = AnswerHeadLlamaConfig

    def __init__(self, config: AnswerHeadLlamaConfig) -> None:
        super().__init__(config)
        if config.answer_ids is not None:
            constrain_to_answers(self, config.answer_ids)

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> Any:
        """``LlamaForCausalLM.from_pretrained``, with the loaded head's bias frozen again (loading replaces it)."""
        model = super().from_pretrained(*args, **kwargs)
        head = model.get_output_embeddings()
        if model.config.answer_ids is not None and head.bias is not None:
            head.bias.requires_grad_(False)
        return model


AutoConfig.register(AnswerHeadLlamaConfig.model_type, AnswerHeadLlamaConfig, exist_ok=True)
AutoModelForCausalLM.register(AnswerHeadLlamaConfig, AnswerHeadLlamaForCausalLM, exist_ok=True)


def make_tokenizer(encoding: PromptEncoding) -> PreTrainedTokenizerFast:
    """A word-level ``PreTrainedTokenizerFast`` over the encoding's vocabulary (ids in ``encoding.vocabulary``
    order), splitting on whitespace, padding on the left (as generation needs), with ``<pad>`` and ``<eos>``."""
    vocabulary = {token: index for index, token in enumerate(encoding.vocabulary)}
    core = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token=None))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=EOS, padding_side="left")


def tiny_causal_lm(
    encoding: PromptEncoding,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
    answer_head: bool = True,
) -> LlamaForCausalLM:
    """A small Llama-style causal LM for the encoding's vocabulary, initialised from ``seed`` (the global torch
    generator is left as it was), with the answer head unless ``answer_head=False`` (an
    ``AnswerHeadLlamaForCausalLM``, whose restriction survives ``save_pretrained``/``from_pretrained``; a plain
    ``LlamaForCausalLM`` without it).

    Args:
        encoding: the task's encoding (vocabulary size, prompt length d, response length up to d + 64).
        hidden_size: width; ``intermediate_size`` is twice it.
        num_layers: depth.
        num_heads: attention heads (``hidden_size`` must be a multiple of it).
        seed: initialisation seed.
    """
    for name, value in (("hidden_size", hidden_size), ("num_layers", num_layers), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size must be a multiple of num_heads={num_heads}, got {hidden_size}")
    vocabulary = encoding.vocabulary
    sizes: dict[str, Any] = dict(
        vocab_size=len(vocabulary),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=encoding.context_dim + 64,
        pad_token_id=vocabulary.index(PAD),
        bos_token_id=None,
        eos_token_id=vocabulary.index(EOS),
        tie_word_embeddings=False,
    )
    config = AnswerHeadLlamaConfig(answer_ids=encoding.answer_ids, **sizes) if answer_head else LlamaConfig(**sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = (
            AnswerHeadLlamaForCausalLM(config)
            if isinstance(config, AnswerHeadLlamaConfig)
            else LlamaForCausalLM(config)
        )
    model.generation_config.pad_token_id = config.pad_token_id
    return model


def constrain_to_answers(model: PreTrainedModel, answer_ids: Sequence[int]) -> PreTrainedModel:
    """Give ``model``'s LM head a frozen bias, 0 on ``answer_ids`` and ``MASK_LOGIT`` elsewhere (in place; the
    head's weights are kept), and record the ids as ``model.config.answer_ids`` (saved with the config, so that
    ``load_answer_model`` restores the head of any architecture). Returns the model."""
    head = model.get_output_embeddings()
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(f"model's output embeddings must be a torch.nn.Linear, got {type(head).__name__}")
    listed = [int(i) for i in answer_ids]  # plain ints: this also runs on the meta device (from_pretrained)
    if not listed or min(listed) < 0 or max(listed) >= head.out_features:
        raise ValueError(f"answer_ids must be ids in [0, {head.out_features}), got {listed!r}")
    ids = torch.as_tensor(listed, dtype=torch.long, device=head.weight.device)
    bias = torch.full((head.out_features,), MASK_LOGIT, dtype=head.weight.dtype, device=head.weight.device)
    bias[ids] = 0.0
    if head.bias is not None:
        bias[ids] = head.bias.detach()[ids]
    head.bias = torch.nn.Parameter(bias, requires_grad=False)
    model.config.answer_ids = listed
    return model


def load_answer_model(path: str, **kwargs: object) -> PreTrainedModel:
    """``AutoModelForCausalLM.from_pretrained(path, **kwargs)`` with the answer head of ``config.answer_ids`` put
    back (an architecture whose head has no bias, e.g. GPT-2 or Qwen2 with the head added by
    ``constrain_to_answers``, loses it in ``from_pretrained``). Raises ValueError when the saved config has no
    ``answer_ids``."""
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    answer_ids = getattr(model.config, ANSWER_IDS, None)
    if not answer_ids:
        raise ValueError(
            f"path {path!r} holds a model saved without answer_ids in its config: restrict it with "
            "constrain_to_answers(model, encoding.answer_ids) before save_pretrained"
        )
    return constrain_to_answers(model, answer_ids)


def answer_head_problem(model: PreTrainedModel, encoding: PromptEncoding) -> str | None:
    """Why ``model`` is not a policy over ``encoding``'s answers (None when it is): its vocabulary has another
    size than the encoding's, or its LM head does not give every other token the logit ``MASK_LOGIT``."""
    head = model.get_output_embeddings()
    size = len(encoding.vocabulary)
    if head is None or getattr(head, "out_features", None) != size:
        found = getattr(head, "out_features", None)
        shape = f"k={encoding.vocab_size}, d={encoding.context_dim}"
        return f"its LM head has {found} outputs but the encoding ({shape}) has {size} tokens"
    bias = getattr(head, "bias", None)
    others = torch.ones(size, dtype=torch.bool)
    others[encoding.answer_ids] = False
    if bias is None or not bool((bias.detach().cpu()[others] <= MASK_LOGIT / 2).all()):
        return (
            "its LM head does not restrict to the encoding's answer tokens (a model loaded without the answer head? "
            "use tiny_causal_lm, constrain_to_answers or load_answer_model)"
        )
    if bool((bias.detach().cpu()[~others] <= MASK_LOGIT / 2).any()):
        return "its LM head masks some of the encoding's answer tokens (built for another encoding?)"
    return None


def check_answer_head(model: PreTrainedModel, encoding: PromptEncoding, name: str = "model") -> PreTrainedModel:
    """Raise ValueError naming ``name`` when ``model``'s head does not restrict to ``encoding``'s answers or does
    not fit the encoding (``answer_head_problem``); returns the model."""
    problem = answer_head_problem(model, encoding)
    if problem is not None:
        raise ValueError(f"{name} is not a policy over the encoding's {encoding.vocab_size} answer tokens: {problem}")
    return model


def release_from_trainer(model: PreTrainedModel) -> PreTrainedModel:
    """Undo TRL's patch of ``model.forward`` (its fused LM head, set on the instance, whose closure holds this
    very model): afterwards ``copy.deepcopy(model)`` gives an independent model (a copy of a patched model would
    generate with the original's weights). Returns the model."""
    model.__dict__.pop("forward", None)
    return model


def answer_distributions(
    model: PreTrainedModel, encoding: PromptEncoding, contexts: np.ndarray, answers: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    """Teacher-forced log p(. | prompt(x), y_<i) over the k answer tokens at every position of ``(n, N)``
    answers: ``(n, N, k)`` float64, normalised over the answer tokens (with the answer head this equals the
    model's own distribution)."""
    prompts = torch.as_tensor(encoding.prompt_ids(contexts))
    responses = torch.as_tensor(encoding.response_ids(answers))
    d, length = prompts.shape[1], responses.shape[1]
    answer_ids = torch.as_tensor(encoding.answer_ids)
    device = next(model.parameters()).device
    out = np.empty((*responses.shape, len(encoding.answer_ids)), dtype=np.float64)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(prompts), chunk):
            ids = torch.cat([prompts[start : start + chunk], responses[start : start + chunk]], dim=1).to(device)
            logits = model(input_ids=ids).logits[:, d - 1 : d - 1 + length].float()
            out[start : start + chunk] = torch.log_softmax(logits[..., answer_ids.to(device)], dim=-1).double().cpu()
    model.train(was_training)
    return out


def answer_log_probs(
    model: PreTrainedModel, encoding: PromptEncoding, contexts: np.ndarray, answers: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    """Teacher-forced log p(y_i | prompt(x), y_<i) of ``(n, N)`` answers, ``(n, N)`` float64, normalised over
    the k answer tokens (with the answer head this equals the model's own distribution)."""
    log_probs = answer_distributions(model, encoding, contexts, answers, chunk)
    picked = np.take_along_axis(log_probs, np.asarray(answers, dtype=np.int64)[..., None], axis=-1)
    return picked[..., 0]
