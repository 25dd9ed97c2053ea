"""tabler1's reference trainer on PyTorch: the remote backend protocol
(docs/backend-protocol.md), grpo.Loss in PyTorch, tabler1's embedded
transformer and Hugging Face causal LMs, OpenAI rollout serving in the same
process, and data parallelism under torchrun.

Run it with ``python3 -m tabler1_torch --model M --port N`` (or
scripts/torch-backend.sh); the HTTP layer (server.py) is a thin shell over
``engine.build_engine``.
"""
