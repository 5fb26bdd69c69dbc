"""A driver with the Python engines' calls and no engine: every poll hands over
the same `deliveries` one-token deltas, at once. For `benches/python_poll.rs`,
which times the Rust side's round trip into a driver's `poll()`."""


class Driver:
    def __init__(self, model, tp, args, ignore_eos, settings):
        n = int(args.get("deliveries", "16"))
        self._tokens = [(i, 1, False) for i in range(n)]

    def describe(self):
        return {"version": "0", "tensor_parallel_size": 1, "max_model_len": None, "vocab_size": None,
                "settings": {}}

    def submit(self, request_id, token_ids, max_tokens, ignore_eos, sampling):
        pass

    def poll(self, timeout_s):
        return self._tokens, (), ()

    def cancel(self, request_id):
        pass

    def reset_prefix_cache(self):
        pass

    def shutdown(self):
        pass
