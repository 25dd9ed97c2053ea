"""The engine's chunked completion log-probabilities: the same values and
gradients as log_softmax(...).gather(...), whatever the chunking."""
from __future__ import annotations

import unittest

import torch

from tabler1_torch.engine import token_logprobs


class TokenLogprobsTest(unittest.TestCase):
    def test_matches_log_softmax_gather_in_float64(self) -> None:
        g = torch.Generator().manual_seed(7)
        for rows, vocab, chunk_elements in ((5, 11, 11), (5, 11, 33), (7, 13, 1 << 20), (1, 3, 1)):
            with self.subTest(rows=rows, vocab=vocab, chunk_elements=chunk_elements):
                logits = (3 * torch.randn(rows, vocab, generator=g, dtype=torch.float64)).requires_grad_()
                target = torch.randint(vocab, (rows,), generator=g)
                w = torch.randn(rows, generator=g, dtype=torch.float64)
                got = token_logprobs(logits, target, chunk_elements)
                (gg,) = torch.autograd.grad((got * w).sum(), logits)
                want = torch.log_softmax(logits, -1).gather(-1, target[:, None]).squeeze(-1)
                (wg,) = torch.autograd.grad((want * w).sum(), logits)
                self.assertEqual(got.dtype, torch.float64)
                torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
                torch.testing.assert_close(gg, wg, rtol=0, atol=1e-12)

    def test_gradcheck(self) -> None:
        logits = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
        target = torch.tensor([0, 5, 2, 2])
        self.assertTrue(torch.autograd.gradcheck(lambda x: token_logprobs(x, target, 12), (logits,)))

    def test_half_precision_logits_give_float32(self) -> None:
        logits = torch.randn(6, 9).to(torch.bfloat16).requires_grad_()
        target = torch.randint(9, (6,))
        got = token_logprobs(logits, target, 18)
        self.assertEqual(got.dtype, torch.float32)
        want = torch.log_softmax(logits.float(), -1).gather(-1, target[:, None]).squeeze(-1)
        torch.testing.assert_close(got, want)
        w = torch.randn(6)
        (got * w).sum().backward()
        self.assertEqual(logits.grad.dtype, torch.bfloat16)
        ref = logits.detach().clone().requires_grad_()
        (torch.log_softmax(ref.float(), -1).gather(-1, target[:, None]).squeeze(-1) * w).sum().backward()
        torch.testing.assert_close(logits.grad, ref.grad)


if __name__ == "__main__":
    unittest.main()
