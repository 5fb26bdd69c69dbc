"""Engine drivers: one small class per engine, all with the same calls.

``Driver(model, tp, args, ignore_eos)``, ``describe()``,
``submit(id, token_ids, max_tokens, ignore_eos, sampling)``, ``poll(timeout_s)``,
``cancel(id)``, ``reset_prefix_cache()``, ``shutdown()``.

``poll`` returns three lists: ``(id, new_tokens, finished)`` deliveries,
``(id, reason)`` failures, and ``(id, json)`` engine-side statistics. A driver
raises ``ValueError`` for a problem with one request; any other exception ends
the run. Drivers never read the clock for metrics: the Rust side does.
"""
