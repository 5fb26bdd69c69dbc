#!/usr/bin/env python3
"""Make a Llama-shaped model with random weights, locally, without downloading anything.

    python make_model.py --shape tiny --out DIR [--device cpu|cuda] [--dtype bfloat16] [--seed 0]

Writes into DIR: config.json, generation_config.json, model*.safetensors (via save_pretrained),
tokenizer.json + tokenizer_config.json + special_tokens_map.json (a WordLevel tokenizer built
locally with the `tokenizers` package, one entry per model token id, so any token id decodes).

The weights are seeded (torch.manual_seed), so the same shape, seed and device give the same
model. A random-weight model runs the same kernels at the same speed as the real one.
Real shapes are large: llama-3-8b is ~16 GB in bf16, built directly in that dtype on --device.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

# Never reach out to a hub, even by accident.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LLAMA2_SPECIALS = {"unk": (0, "<unk>"), "bos": (1, "<s>"), "eos": (2, "</s>")}
LLAMA3_SPECIALS = {"bos": (128000, "<|begin_of_text|>"), "eos": (128001, "<|end_of_text|>")}

# Published configs (config.json of the real checkpoints).
SHAPES: dict[str, dict] = {
    "tiny": dict(
        vocab_size=32000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False, specials=LLAMA2_SPECIALS,
    ),
    # TinyLlama/TinyLlama-1.1B-Chat-v1.0
    "tinyllama-1.1b": dict(
        vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048,
        rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False, specials=LLAMA2_SPECIALS,
    ),
    # meta-llama/Llama-3.2-3B
    "llama-3.2-3b": dict(
        vocab_size=128256, hidden_size=3072, intermediate_size=8192, num_hidden_layers=28,
        num_attention_heads=24, num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        rope_parameters={
            "rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "high_freq_factor": 4.0,
            "low_freq_factor": 1.0, "original_max_position_embeddings": 8192,
        },
        tie_word_embeddings=True, specials=LLAMA3_SPECIALS,
    ),
    # meta-llama/Meta-Llama-3-8B
    "llama-3-8b": dict(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
        rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        tie_word_embeddings=False, specials=LLAMA3_SPECIALS,
    ),
}


def make_config(shape: str):
    from transformers import LlamaConfig

    spec = dict(SHAPES[shape])
    specials = spec.pop("specials")
    return LlamaConfig(
        **spec,
        bos_token_id=specials["bos"][0],
        eos_token_id=specials["eos"][0],
        hidden_act="silu",
        initializer_range=0.02,
        attention_bias=False,
        mlp_bias=False,
    )


def make_words(n: int, seed: int) -> list[str]:
    """n distinct lowercase pseudo-words, deterministic in seed."""
    rng = random.Random(seed)
    onsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
              "z", "br", "ch", "dr", "st", "th", "tr", "pl", "gr", "sh", "kl", "fr"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou", "y"]
    codas = ["", "n", "r", "s", "t", "l", "m", "k", "nd", "st", "x"]
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < n:
        w = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                    for _ in range(rng.randint(1, 3)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def write_tokenizer(out: Path, vocab_size: int, specials: dict, max_len: int, seed: int) -> None:
    """A WordLevel tokenizer with exactly vocab_size entries (ids 0..vocab_size-1), special tokens
    at the model's bos/eos ids, whitespace pre-tokenization. Built locally, nothing downloaded."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    special_by_id = {tid: tok for tid, tok in specials.values()}
    unk = specials.get("unk", (None, "<unk>"))[1]
    if unk not in special_by_id.values():
        special_by_id[vocab_size - 1] = unk  # Llama-3 has no unk: use the last (reserved) id
    words = iter(make_words(vocab_size - len(special_by_id), seed))
    vocab = {(special_by_id[i] if i in special_by_id else next(words)): i for i in range(vocab_size)}

    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    bos_id, bos = specials["bos"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)])
    tok.add_special_tokens([t for _, t in sorted(special_by_id.items())])
    tok.save(str(out / "tokenizer.json"))

    eos = specials["eos"][1]
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos, "eos_token": eos, "unk_token": unk, "pad_token": None,
        "model_max_length": max_len, "clean_up_tokenization_spaces": False,
        "add_bos_token": True, "add_eos_token": False,
    }, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": bos, "eos_token": eos, "unk_token": unk}, indent=2) + "\n")


def write_generation_config(out: Path, cfg) -> None:
    from transformers import GenerationConfig

    GenerationConfig(
        bos_token_id=cfg.bos_token_id, eos_token_id=cfg.eos_token_id, pad_token_id=cfg.eos_token_id,
        do_sample=False, max_new_tokens=256,
    ).save_pretrained(str(out))


def make_model(shape: str, out: Path, device: str = "cpu", dtype: str = "bfloat16", seed: int = 0) -> None:
    import torch
    from transformers import LlamaForCausalLM

    cfg = make_config(shape)
    torch_dtype = getattr(torch, dtype)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(cfg, dtype=torch_dtype)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(str(out), max_shard_size="5GB")
    write_generation_config(out, cfg)  # overwrite the default one with ours
    spec = SHAPES[shape]
    write_tokenizer(out, cfg.vocab_size, spec["specials"], cfg.max_position_embeddings, seed)
    print(f"made {shape}: {n_params / 1e6:.1f}M params, {dtype}, on {device}, "
          f"in {time.perf_counter() - t0:.1f} s -> {out}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", required=True, choices=sorted(SHAPES))
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--device", default="cpu", help="cpu or cuda (build big shapes on the GPU)")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    make_model(a.shape, a.out, a.device, a.dtype, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
