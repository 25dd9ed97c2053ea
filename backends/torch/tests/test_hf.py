"""The Hugging Face family on a tiny randomly initialised Qwen2 model with
the byte-level ChatML tokenizer the GPU check builds (no download): log-probs equal the
model's own logits, a training step, generation, save and load. Skipped
where transformers is not installed (Debian's CI image has none)."""
from __future__ import annotations

import importlib.util
import tempfile
import unittest
from pathlib import Path

import torch

HAVE_TRANSFORMERS = all(importlib.util.find_spec(m) is not None for m in ("transformers", "tokenizers"))


def tiny_hf_dir() -> str:
    import transformers

    from tabler1_torch.bench import write_byte_tokenizer

    d = tempfile.mkdtemp()
    write_byte_tokenizer(Path(d))
    tok = transformers.AutoTokenizer.from_pretrained(d)
    cfg = transformers.Qwen2Config(vocab_size=384, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=128, eos_token_id=tok.eos_token_id,
                                   pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    transformers.Qwen2ForCausalLM(cfg).save_pretrained(d, safe_serialization=True)
    return d


@unittest.skipUnless(HAVE_TRANSFORMERS, "transformers is not installed: the Hugging Face family is checked where it is (GPU image)")
class HFFamilyTest(unittest.TestCase):
    def test_train_serve_save_load(self) -> None:
        from tabler1_torch.engine import Seq, build_engine
        from tabler1_torch.generate import Job, Sampling, generate

        d = tiny_hf_dir()
        eng = build_engine(d, device="cpu", dtype="float32", attn_implementation="eager", micro_batch_tokens=16)
        fam = eng.family
        prompt, comp = fam.encode_prompt("ab"), fam.encode_completion("cd")
        self.assertEqual((len(prompt), len(comp)), (2, 3), "one token a byte, then the end-of-sequence token")
        lp, _ = eng.completion_logprobs(eng.policy, [Seq(prompt, comp, None, 0.0)])
        with torch.no_grad():
            logits = eng.policy(torch.tensor([prompt + comp])).logits[0]
        want = torch.log_softmax(logits.float(), -1)[len(prompt) - 1 : -1].gather(-1, torch.tensor(comp).unsqueeze(-1)).squeeze(-1)
        torch.testing.assert_close(lp[0].detach(), want, atol=1e-5, rtol=1e-5)

        batch = {"sequences": [{"prompt_tokens": prompt, "completion_tokens": comp, "sampler_logprobs": lp[0].tolist(), "advantage": 1.0}]}
        out = eng.forward_backward({"batch": batch, "loss": {"kl_loss_coef": 0.01}})
        self.assertEqual(out["tokens"], len(prompt) + len(comp))
        self.assertGreater(eng.optim_step({"optim": {"lr": 1e-2}})["grad_norm"], 0)
        eng.sft_forward_backward({"batch": {"sequences": [{"prompt": "x", "completion": "y"}]}})
        eng.optim_step({"optim": {"lr": 1e-2}})
        eng.publish({})
        (gens,) = generate(fam, eng.served, [Job(fam.chat_prompt([{"role": "user", "content": "hi"}]), 2, Sampling(max_tokens=5, seed=1))], eng.generator)
        for g in gens:
            self.assertEqual(len(g.tokens), len(g.logprobs))
            glp, _ = eng.completion_logprobs(eng.served, [Seq(fam.chat_prompt([{"role": "user", "content": "hi"}]), g.tokens, None, 0.0)])
            torch.testing.assert_close(torch.tensor(g.logprobs, dtype=torch.float32), glp[0].float(), atol=1e-4, rtol=1e-4)

        ck = tempfile.mkdtemp()
        eng.save({"dir": ck})
        fresh = build_engine(d, device="cpu", dtype="float32", attn_implementation="eager")
        fresh.load({"dir": ck})
        a, _ = eng.completion_logprobs(eng.served, [Seq(prompt, comp, None, 0.0)])
        b, _ = fresh.completion_logprobs(fresh.served, [Seq(prompt, comp, None, 0.0)])
        torch.testing.assert_close(a, b)
        self.assertEqual(fresh.health()["step"], 2)


if __name__ == "__main__":
    unittest.main()
