"""Hugging Face pieces built locally, with no download: the task's tokenizer, a tiny Llama-style causal LM, the
answer head that makes the model's policy the k answer tokens, and teacher-forced log-probabilities of answers.

The answer head is a frozen bias on the LM head: 0 on the k answer tokens, ``MASK_LOGIT`` elsewhere. It is part of
the head's weights, so every path that computes logits sees it: ``generate`` (through ``forward``) and TRL's
fused log-probability head (which multiplies by ``lm_head.weight`` and adds ``lm_head.bias`` without calling
``forward``; a logits processor or a forward hook would be missed there). In float32, exp(MASK_LOGIT) is 0, so
the sampled policy and the one TRL optimises are both softmax over the answer tokens' logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel, PreTrainedTokenizerFast

from agents.llm.encoding import EOS, PAD, PromptEncoding

# The logit of every non-answer token: far below any logit a trained model reaches, yet finite (no inf - inf).
MASK_LOGIT = -1.0e4


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
    generator is left as it was), with the answer head unless ``answer_head=False``.

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
    config = LlamaConfig(
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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = config.pad_token_id
    if answer_head:
        constrain_to_answers(model, encoding.answer_ids)
    return model


def constrain_to_answers(model: PreTrainedModel, answer_ids: Sequence[int]) -> PreTrainedModel:
    """Give ``model``'s LM head a frozen bias, 0 on ``answer_ids`` and ``MASK_LOGIT`` elsewhere (in place; the
    head's weights are kept). Returns the model."""
    head = model.get_output_embeddings()
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(f"model's output embeddings must be a torch.nn.Linear, got {type(head).__name__}")
    ids = torch.as_tensor(list(answer_ids), dtype=torch.long)
    if ids.numel() == 0 or ids.min() < 0 or ids.max() >= head.out_features:
        raise ValueError(f"answer_ids must be ids in [0, {head.out_features}), got {list(answer_ids)!r}")
    bias = torch.full((head.out_features,), MASK_LOGIT, dtype=head.weight.dtype, device=head.weight.device)
    bias[ids.to(bias.device)] = 0.0
    if head.bias is not None:
        bias[ids.to(bias.device)] = head.bias.detach()[ids.to(bias.device)]
    head.bias = torch.nn.Parameter(bias, requires_grad=False)
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
